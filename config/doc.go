package config

import (
	"fmt"
	"strings"
)

// KeySections are the sections of a scenario file's parameter keys, in the
// order docs/scenarios.md lists them: "" for the top level, then each
// section a key is dotted under (cluster.vms is in cluster).
var KeySections = []string{"", "cluster", "workload", "workers", "janitor", "assumptions", "mitigations", "alerts", "reporting"}

// KeyTable is the Markdown table of the parameter keys of one section of
// a scenario file: each key (without its section), its default, the values
// it takes and what it means, all from Params, so that docs/scenarios.md
// cannot drift from the code (config's tests regenerate and compare it).
func KeyTable(section string) string {
	var b strings.Builder
	b.WriteString("| key | default | valid | meaning |\n|---|---|---|---|\n")
	def := Default()
	for _, p := range Params {
		if p.Key == "" || keySection(p.Key) != section {
			continue
		}
		value := p.Get(&def)
		if value == "" {
			value = "none"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", strings.TrimPrefix(p.Key, section+"."),
			cell(value), cell(p.Want()), cell(p.Doc))
	}
	return b.String()
}

// keySection is the section a dotted key is in ("" for the top level).
func keySection(key string) string {
	section, _, dotted := strings.Cut(key, ".")
	if !dotted {
		return ""
	}
	return section
}

// cell escapes s for a Markdown table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
