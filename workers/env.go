package workers

import (
	"go.uber.org/zap"

	"vmstorm/cluster"
	"vmstorm/internal/sim"
)

// Env is what every part of one run shares: the run's kernel (its clock),
// the cluster, the ledger of jobs, the two logs and the seed every part's
// streams are drawn from. Each part takes it, with its own settings and
// its channels, in its constructor, and reads it as its own fields; nothing
// is set after.
type Env struct {
	Kernel  *sim.Kernel
	Cluster *cluster.Cluster
	Ledger  *Ledger
	Log     *zap.Logger // changes of state
	Events  *zap.Logger // lifecycle events, one per job or VM step: see logx.Lifecycle
	Seed    uint64
}
