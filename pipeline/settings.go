package pipeline

import (
	"fmt"
	"time"

	"vmstorm/cluster"
	"vmstorm/config"
	"vmstorm/internal/dist"
	"vmstorm/workers"
)

// settings are the settings of every part of a run, each part's its own,
// made from the run's configuration here and nowhere else.
type settings struct {
	cluster   cluster.Config
	source    workers.SourceSettings
	build     workers.BuildSettings
	run       workers.RunSettings
	janitor   workers.JanitorSettings
	scheduler workers.SchedulerSettings
	policies  workers.PolicySettings
	limits    []int64 // each queue's limit of concurrent builds
}

// settingsOf makes each part's settings from cfg: the mitigations' by
// their entries in wiring.
func settingsOf(cfg config.Config) settings {
	s := settings{
		cluster: cluster.Config{
			Clone: cfg.Clone, PowerOn: cfg.PowerOn, Destroy: cfg.Destroy,
			StartTimeout: cfg.StartTimeout, RejectTime: cfg.RejectTime, CPUVMs: cfg.CPUVMs,
			APIRate: cfg.APIRate, APIBurst: cfg.APIBurst, ClientRate: cfg.ClientAPIRate,
			Seed: cfg.Seed,

			NeverBootedHoldsSlot: cfg.Assumptions.NeverBootedHoldsSlot,
			RefusedStartHoldsCPU: cfg.Assumptions.RefusedStartHoldsCPU,
			RefusedCallsCount:    cfg.Assumptions.RefusedCallsCount,
		},
		source: workers.SourceSettings{
			PerMinute: cfg.ArrivalsPerMinute, MaxJobs: cfg.MaxJobs, Names: cfg.QueueNames(),
			Build: cfg.Build, Timeout: cfg.BuildTimeout,
		},
		build: workers.BuildSettings{MaxAttempts: cfg.MaxAttempts},
		run: workers.RunSettings{
			DeletesVMs: cfg.WorkerDeletesVMs, StallTimeout: cfg.StallTimeout, DeletesLostVMs: cfg.DeletesLostVMs,
		},
		janitor: workers.JanitorSettings{
			Every: cfg.CleanupEvery, RatePerSecond: cfg.CleanupRate, Cutoff: cfg.CleanupCutoff,
			ReportStale: cfg.ReportStale, ReportFresh: cfg.ReportFresh,
			Phase: time.Duration(dist.JanitorPhase.Stream(cfg.Seed).Int64N(int64(cfg.CleanupEvery))),
		},
		limits: make([]int64, len(cfg.Queues)),
	}
	for m, wire := range wiring {
		if wire == nil {
			panic(fmt.Sprintf("pipeline: Mitigation(%d) has no entry in wiring", m))
		}
		wire(cfg, &s)
	}
	s.source.Shares = make([]float64, len(cfg.Queues))
	for i, q := range cfg.Queues {
		s.limits[i], s.source.Shares[i] = q.MaxBuilds, q.Share
	}
	if tr := cfg.Traffic; tr != nil {
		s.source.Traffic = func(t time.Duration) float64 { return tr.Factor(cfg.Epoch, t) }
		s.source.MaxTraffic = tr.Max()
	}
	return s
}
