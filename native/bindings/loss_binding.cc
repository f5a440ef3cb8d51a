// [async] marginSoftmaxLoss: the fused margin-softmax op (native/ops/margin_softmax.h).
#include <napi.h>

#include "bindings/bindings.h"

namespace sphereface {

void InitLoss(Napi::Env env, Napi::Object exports) {}

}  // namespace sphereface
