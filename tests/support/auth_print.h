// GoogleTest prints auth::Reason by its label ("expired") instead of bytes.
#pragma once

#include <ostream>

#include "auth/reason.h"

namespace pb::auth {

inline void PrintTo(Reason reason, std::ostream* os) {
  *os << reason_name(reason);
}

}  // namespace pb::auth
