package screen

import (
	"image"
	"testing"
)

// Every face Layout uses is built by NewRenderer, so a failure is its error, not a panic
// in the middle of drawing.
func TestNewRendererBuildsEveryFace(t *testing.T) {
	r, err := NewRenderer(image.Pt(1280, 720))
	if err != nil {
		t.Fatal(err)
	}
	for role := range r.fonts {
		for _, pct := range faceScales() {
			if _, ok := r.faces[faceKey{Role(role), pct}]; !ok {
				t.Errorf("face for role %d at %d%%: got none, want it built by NewRenderer", role, pct)
			}
		}
	}
	if got := faceScales(); len(got) != 4 || got[0] != 100 || got[3] != 85 {
		t.Errorf("face scales: got %v, want 100 down to 85 (minScale) in steps of 5", got)
	}
}

func TestFaceErrors(t *testing.T) {
	r, err := NewRenderer(image.Pt(1280, 720))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		pct     int
		wantErr bool
	}{
		{"full size", 100, false},
		{"half size", 50, false},
		{"zero size", 0, true},
		{"negative size", -10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := r.newFace(Body, tt.pct)
			if (err != nil) != tt.wantErr || (err == nil) == (f == nil) {
				t.Errorf("newFace(%d%%): got %v, %v, want error %v", tt.pct, f, err, tt.wantErr)
			}
			// face never panics: a size that cannot be built falls back to full size.
			if got := r.face(Body, float64(tt.pct)/100); got == nil {
				t.Errorf("face(%d%%): got nil, want a face", tt.pct)
			}
		})
	}
	if r.face(Body, 0) != r.faces[faceKey{Body, 100}] {
		t.Error("face at 0%: got another face, want the full-size fallback")
	}
}
