package config

import (
	"slices"

	"vmstorm/incident"
)

// SwitchOf returns the switch that parameter flag is a setting of, if any:
// a mitigation's settings, as incident.MitigationTable lists them, set its
// switch (-backoff-base sets -backoff, -breaker-probes sets -breaker), and
// -api-burst sets the cloud API's limit, -api-rate. A setting whose switch
// is off does nothing.
func SwitchOf(flag string) (string, bool) {
	if flag == "api-burst" {
		return "api-rate", true
	}
	for _, e := range incident.MitigationTable {
		if slices.Contains(e.Settings, flag) {
			return e.Switch, true
		}
	}
	return "", false
}

// Uses reports whether switch sw (see SwitchOf) is on in c, or may be
// turned on by its timeline.
func (c Config) Uses(sw string) bool {
	if sw == "api-rate" {
		return c.APIRate > 0
	}
	for m, e := range incident.MitigationTable {
		if e.Switch != sw {
			continue
		}
		if c.MitigationOn(incident.Mitigation(m)) {
			return true
		}
		for _, ev := range c.Timeline {
			if ev.Action == "enable_mitigation" && ev.Args.Mitigation == e.Name {
				return true
			}
		}
	}
	return false
}

// MitigationOn reports whether mitigation m's switch is on in c from the
// start (a timeline may turn it on or off later).
func (c Config) MitigationOn(m incident.Mitigation) bool {
	p, ok := Lookup(incident.MitigationTable[m].Switch)
	if !ok {
		return false // no such parameter: config's tests fail on it
	}
	on, _ := p.Value(&c).(bool)
	return on
}
