package button

import "testing"

func TestQuadrature(t *testing.T) {
	// States as "ab" strings, starting at rest (00).
	cw := []string{"01", "11", "10", "00"}
	ccw := []string{"10", "11", "01", "00"}
	cat := func(ss ...[]string) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s...)
		}
		return out
	}
	tests := []struct {
		name   string
		steps  int
		states []string
		want   []int
	}{
		{"one click clockwise", 4, cw, []int{1}},
		{"one click anticlockwise", 4, ccw, []int{-1}},
		{"three clicks", 4, cat(cw, cw, cw), []int{1, 1, 1}},
		{"there and back", 4, cat(cw, ccw), []int{1, -1}},
		{"bounce on each edge nets out", 4, []string{"01", "00", "01", "11", "01", "11", "10", "11", "10", "00", "10", "00"}, []int{1}},
		{"a nudge that falls back is nothing", 4, []string{"01", "11", "01", "00"}, nil},
		{"a missed step still clicks", 4, []string{"01", "11", "00"}, []int{1}},
		{"a jump of two states has no direction", 4, []string{"11", "00"}, nil},
		{"half-step encoder clicks at 11 and 00", 2, cat(cw, ccw), []int{1, 1, -1, -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := quadrature{steps: tt.steps}
			var got []int
			for _, s := range tt.states {
				if c := q.sample(s[0] == '1', s[1] == '1'); c != 0 {
					got = append(got, c)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got clicks %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got clicks %v, want %v", got, tt.want)
				}
			}
		})
	}
}
