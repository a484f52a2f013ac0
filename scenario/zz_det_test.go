package scenario

import (
	"fmt"
	"reflect"
	"testing"
)

func TestZZDeterminism(t *testing.T) {
	for _, b := range Builtins() {
		s, _ := LoadBuiltin(b.Name)
		a := replay(t, s)
		c := replay(t, s)
		first := -1
		for i := range min(len(a.Series), len(c.Series)) {
			if !reflect.DeepEqual(a.Series[i], c.Series[i]) { first = i; break }
		}
		fmt.Println(b.Name, len(a.Series), len(c.Series), "first diff", first, reflect.DeepEqual(a.Jobs, c.Jobs), reflect.DeepEqual(a.Phases, c.Phases))
		if first >= 0 { fmt.Printf("%+v\n%+v\n", a.Series[first], c.Series[first]) }
	}
}
