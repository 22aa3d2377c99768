#include "auth/key_set.h"

namespace pb::auth {

std::shared_ptr<const KeySet> KeySet::from_config(const config::JwtConfig& cfg) {
  std::vector<std::shared_ptr<const crypto::Key>> keys;
  for (const auto& k : cfg.keys) {
    const auto alg = crypto::alg_from_name(k.alg);
    const std::string what = k.where + ": auth.jwt key" + (k.kid.empty() ? "" : " " + k.kid) +
                             (k.file.empty() ? std::string(" (the secret)") : " (" + k.file + ")");
    if (!alg) throw KeyError(what + ": unknown alg");
    std::string why;
    auto key = crypto::Key::make(*alg, k.material, k.kid, why);
    if (!key) throw KeyError(what + " " + why);
    keys.push_back(std::move(key));
  }
  return std::make_shared<const KeySet>(std::move(keys));
}

KeySet::Candidates KeySet::select(crypto::Alg alg, const std::optional<std::string>& kid) const {
  Candidates out;
  if (kid) {
    for (const auto& k : keys_) {
      if (!k->kid().empty() && k->kid() == *kid) {
        out.kid_matched = true;
        if (k->alg() == alg) {
          out.keys.push_back(k.get());
        } else {
          out.alg_refused = true;
        }
        return out;  // kids are unique (checked by the loader)
      }
    }
  }
  for (const auto& k : keys_) {
    if (k->kid().empty() && k->alg() == alg) out.keys.push_back(k.get());
  }
  return out;
}

bool KeySet::has_alg(crypto::Alg alg) const {
  for (const auto& k : keys_) {
    if (k->alg() == alg) return true;
  }
  return false;
}

}  // namespace pb::auth
