package config

import "strings"

// SwitchOf returns the switch that parameter flag is a setting of, if any:
// a mitigation's settings are named after it (-backoff-base sets -backoff,
// -breaker-probes sets -breaker), and -api-burst sets the cloud API's
// limit, -api-rate. A setting whose switch is off does nothing.
func SwitchOf(flag string) (string, bool) {
	if flag == "api-burst" {
		return "api-rate", true
	}
	p, ok := Lookup(flag)
	if !ok || p.Section != SectionMitigations || p.IsBool() {
		return "", false
	}
	for _, sw := range Params {
		if sw.Section == SectionMitigations && sw.IsBool() && strings.HasPrefix(flag, sw.Flag+"-") {
			return sw.Flag, true
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
	p, ok := Lookup(sw)
	if !ok {
		return false
	}
	if on, _ := p.Value(&c).(bool); on {
		return true
	}
	for _, ev := range c.Timeline {
		if ev.Action == "enable_mitigation" && ev.Args.Mitigation == p.LogKey() {
			return true
		}
	}
	return false
}
