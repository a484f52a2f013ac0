package report

import (
	"image/color"

	"vmstorm/experiment"
)

// OutcomeFill is the colour the heat map paints an outcome's cells, for
// the external tests that look for it in a rendering.
func OutcomeFill(o experiment.Outcome) color.RGBA { return styleOf(o).fill }
