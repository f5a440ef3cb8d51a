// Per-thread settings every thread that runs libtorch work needs.
#pragma once

namespace sphereface {

// Applies the current setNumThreads count to this thread's intra-op team, and sets
// flush-to-zero and denormals-are-zero on this thread and on libtorch's intra-op threads
// (as torch.set_flush_denormal(True)): tiny weights otherwise make gradients denormal, and
// denormal arithmetic is ~100x slower on x86. Idempotent and cheap after the first call.
void PrepareWorkerThread();

}  // namespace sphereface
