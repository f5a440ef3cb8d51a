// One process's membership of a data-parallel run, on libtorch's c10d: a TCPStore for the
// rendezvous (rank 0 hosts it at MASTER_ADDR:MASTER_PORT, torchrun's convention), Gloo for the
// collectives (CPU tensors, and CUDA tensors through host copies), NCCL where libtorch has it.
//
// Faults. A launcher that sees a rank's process exit says so (LostRanks): this rank's waits fail
// at once naming it and why, and the report goes into the store for the ranks on other machines.
// Without a report, every rank beats a heartbeat into the store (its own connection, once a
// second), so a failure can name the rank that was lost: a collective that fails (a peer's socket
// closed) or times out looks at whose heartbeat stopped; the store itself unreachable means rank 0,
// which hosts it, is gone. Rendezvous names the ranks that never arrived. Barrier() waits as long
// as the ranks it waits for are alive (rank 0 evaluating or writing a checkpoint), and no longer.
// Everything is bounded by the group's timeout; nothing waits forever.
//
// Collectives must be issued in the same order on every rank (c10d's rule). A group is used by
// one thread at a time (the caller serialises: the model's job queue, or the group's own).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sphereface {

struct GroupConfig {
  int rank = 0;
  int world_size = 1;
  std::string master_addr;  // where rank 0 hosts the store
  int master_port = 0;
  int64_t timeout_ms = 0;  // rendezvous, each collective, and silence before a rank counts as lost
  std::string backend;     // "gloo", "nccl", or "auto" (nccl for a CUDA build that has it)
};

// The backends this build has, e.g. {"gloo"}; empty without distributed support.
std::vector<std::string> DistributedBackends();

enum class ReduceKind { kSum, kMax };

// An all-reduce in flight (StartAllReduce); Wait() finishes it.
class PendingReduce {
 public:
  virtual ~PendingReduce() = default;
};

// Ranks this process has been told are gone (its launcher saw them exit), sooner than their
// silence would show it. Thread-safe: reports come from the JS thread while a wait runs on the
// group's. The first report is the one kept: later ones are that rank's peers failing after it.
class LostRanks {
 public:
  struct Lost {
    int rank;
    std::string reason;  // e.g. "exited with signal SIGKILL"
  };
  void Report(int rank, std::string reason) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!first_) first_ = Lost{rank, std::move(reason)};
  }
  std::optional<Lost> First() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return first_;
  }

 private:
  mutable std::mutex mutex_;
  std::optional<Lost> first_;
};

class DistributedGroup {
 public:
  // Rendezvous: connects to the store (rank 0 starts it), waits until every rank has arrived and
  // builds the backend's connections. Throws naming the ranks missing after the timeout. `lost`
  // (optional) are the reports this group's waits heed, from before the join on.
  static std::shared_ptr<DistributedGroup> Join(const GroupConfig& config,
                                                std::shared_ptr<const LostRanks> lost = nullptr);
  virtual ~DistributedGroup() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual std::string backend() const = 0;

  // `tensors` get rank `root`'s values, in place.
  virtual void Broadcast(std::vector<torch::Tensor> tensors, int root) = 0;
  // `tensor` becomes the element-wise sum (or maximum) over the ranks, in place.
  virtual void AllReduce(torch::Tensor tensor, ReduceKind kind) = 0;
  // The same as a sum, started now and finished by Wait (in the order they were started).
  virtual std::unique_ptr<PendingReduce> StartAllReduce(torch::Tensor tensor) = 0;
  virtual void Wait(PendingReduce& pending) = 0;
  // Returns once every rank has called it, waiting as long as those missing are alive.
  virtual void Barrier() = 0;
  // The end of the run: every rank says it is done, and rank 0, whose process hosts the store,
  // waits for the others to say so before it may exit (they would find the store gone and
  // report rank 0 lost). Once only; a rank 0 already gone is not an error here.
  virtual void Leave() = 0;
  // Stops the heartbeat and makes every wait in progress or to come throw (process exit).
  virtual void Abort() = 0;
};

}  // namespace sphereface
