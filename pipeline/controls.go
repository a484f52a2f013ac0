package pipeline

import (
	"fmt"

	"vmstorm/cluster"
	"vmstorm/workers"
)

// controls are the levers of one run, which its timeline pulls: they
// implement incident.Controls over the run's parts.
type controls struct {
	credentials *workers.Credentials
	janitor     *workers.Janitor
	cleanup     *workers.Cleanup
	scheduler   *workers.Controls
	cluster     *cluster.Cluster
	run         *workers.Run
}

func (c *controls) RotateCleanupPassword() { c.credentials.Rotate() }
func (c *controls) FixCleanupCredentials() { c.credentials.Fix() }
func (c *controls) RestartJanitor()        { c.janitor.Restart() }
func (c *controls) SetAggressiveCleanup(on bool, rate float64) {
	c.janitor.SetAggressive(on, rate)
	c.cleanup.SetAggressive(on)
}
func (c *controls) SetCPUCapacity(vms int64)           { c.cluster.SetCPUVMs(vms) }
func (c *controls) CrashWorkers(fraction float64) int  { return c.run.Crash(fraction) }
func (c *controls) RestartWorkers()                    { c.run.Restart() }
func (c *controls) SetClientAPIRate(perSecond float64) { c.cluster.SetClientRate(perSecond) }
func (c *controls) SetStallChance(p float64)           { c.run.SetStallChance(p) }

func (c *controls) SetPaused(queue string, paused bool) error {
	return c.eachQueue(queue, func(q int) { c.scheduler.SetPaused(q, paused) })
}

func (c *controls) SetMaxBuilds(queue string, n int64) error {
	return c.eachQueue(queue, func(q int) { c.scheduler.SetLimit(q, n) })
}

func (c *controls) eachQueue(queue string, f func(q int)) error {
	if queue == "all" {
		for q := range c.scheduler.Names {
			f(q)
		}
		return nil
	}
	q := c.scheduler.Queue(queue)
	if q < 0 {
		return fmt.Errorf("no queue %q", queue)
	}
	f(q)
	return nil
}
