// Per-thread settings every thread that runs libtorch work needs.
#pragma once

namespace sphereface {

// at::set_num_threads(threads) for the calling thread, remembered for PrepareWorkerThread.
void SetIntraOpThreads(int threads);

// Applies the count SetIntraOpThreads last set to this thread's intra-op team (when it changed),
// and sets flush-to-zero and denormals-are-zero on this thread and on libtorch's intra-op threads
// (as torch.set_flush_denormal(True)): tiny weights otherwise make gradients denormal, and
// denormal arithmetic is ~100x slower on x86. Idempotent and cheap after the first call.
void PrepareWorkerThread();

}  // namespace sphereface
