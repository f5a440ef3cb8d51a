// The wrapped training state (native/train/): nets, heads, optimiser, step, embed, save, load.
#include <napi.h>

#include "bindings/bindings.h"

namespace sphereface {

void InitModel(Napi::Env env, Napi::Object exports) {}

}  // namespace sphereface
