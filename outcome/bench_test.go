package outcome_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"vmstorm/config"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/series"
)

// liveHeap is a Watcher that collects garbage every 10 model minutes and reads
// the heap left live, and keeps its peak and its last reading.
type liveHeap struct {
	next       time.Duration
	peak, last uint64
}

func newLiveHeap() *liveHeap { return &liveHeap{} }

func (h *liveHeap) Row(r series.Row) {
	if r.T < h.next {
		return
	}
	h.next = r.T + 10*time.Minute
	h.read()
}

func (h *liveHeap) read() {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.last = m.HeapAlloc // right after a collection: the live heap
	h.peak = max(h.peak, h.last)
}

func (h *liveHeap) Mark(series.Mark) {}

// BenchmarkMemory runs the healthy default run for one model hour and for
// 24, and reports the live heap of each (after a garbage collection every
// 10 model minutes, and at the end with the outcome held): its peak and its
// value at the end, and the bytes allocated per job. The run holds the
// jobs in flight and in the backlog, the VMs on the cluster and a bounded
// number of rows for the charts (outcome.DefaultKeepRows, or keep): never
// the jobs completed, so a run 24 times longer should hold about the same
// heap once its rows are at their bound.
func BenchmarkMemory(b *testing.B) {
	for _, c := range []struct {
		d        time.Duration
		keepRows int
	}{{time.Hour, 0}, {24 * time.Hour, 0}, {time.Hour, 360}, {24 * time.Hour, 360}} {
		d, keepRows := c.d, c.keepRows
		b.Run(fmt.Sprintf("%v/keep=%d", d, keepRows), func(b *testing.B) {
			cfg := config.Default()
			cfg.Seed, cfg.Speed, cfg.Duration = 1, config.MaxSpeed, d
			var peak, end uint64
			var jobs int64
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				runtime.GC()
				heap := newLiveHeap()
				out, err := outcome.Run(b.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), outcome.Options{Watchers: []series.Watcher{heap}, KeepRows: keepRows})
				if err != nil {
					b.Fatal(err)
				}
				heap.read() // at the end, with the outcome still held
				peak, end, jobs = max(peak, heap.peak), max(end, heap.last), out.Summary.Jobs.Arrived
				runtime.KeepAlive(out)
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(peak)/1e6, "peak-live-MB")
			b.ReportMetric(float64(end)/1e6, "end-live-MB")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(jobs), "B/job")
			b.ReportMetric(float64(jobs), "jobs/run")
		})
	}
}
