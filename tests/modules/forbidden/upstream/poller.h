// A module-boundary fixture: upstream may not include stream.
#include "stream/stream.h"
