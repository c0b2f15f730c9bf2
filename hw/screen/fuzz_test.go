package screen

import (
	"image"
	"strings"
	"testing"
	"time"
)

// FuzzLayout feeds arbitrary clinic names, phone numbers and problems (the switchboard's
// and the booth's words, not ours) to every screen and checks each block of text stays on
// the screen and within its line limit.
func FuzzLayout(f *testing.F) {
	f.Add("Riverside Surgery", "01632 960 123", ProblemCamera)
	f.Add("", "", "")
	f.Add("A\u00a0very\u00a0long\u00a0name\u00a0without\u00a0a\u00a0single\u00a0plain\u00a0space\u00a0anywhere\u00a0in\u00a0it\u00a0at\u00a0all", "+44 (0)1632 960 123 ext. 4567 ask for the duty nurse", "x")
	f.Add("Ⓢ\u200b\u202e\x00\xff", "\n\t", "Ünïcödé 🙂 surgery")
	r, err := NewRenderer(image.Pt(1024, 600))
	if err != nil {
		f.Fatal(err)
	}
	screen := image.Rect(0, 0, 1024, 600)
	now := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, clinic, phone, problem string) {
		for k := Idle; k <= Revoked; k++ {
			v := View{Kind: k, Now: now, ClinicName: clinic, ClinicPhone: phone, Problem: problem,
				Appointment: now.Add(25 * time.Minute), WaitingSince: now.Add(-time.Minute), ActivationCode: problem, Fingerprint: phone,
				Queue: []Waiter{{Name: clinic, Since: now.Add(-time.Hour)}, {Name: problem}, {Name: phone}, {Name: clinic}}}
			l := r.Layout(v)
			for _, it := range l.Items {
				if !it.Rect.In(screen) {
					t.Errorf("%v: %q at %v is off the screen", k, it.Text, it.Rect)
				}
				if len(it.Lines) > maxLines[it.Role] {
					t.Errorf("%v: %q takes %d lines, more than %d", k, it.Text, len(it.Lines), maxLines[it.Role])
				}
			}
		}
	})
}

// TestWordsFromElsewhere: names and numbers from the switchboard are cleaned of control
// and formatting characters, and a phone number stays on one line.
func TestWordsFromElsewhere(t *testing.T) {
	r, err := NewRenderer(image.Pt(1280, 720))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	l := r.Layout(View{Kind: JoinWindow, Now: now, Appointment: now.Add(time.Hour), ClinicName: "Riverside\n\u202eSurgery\x00"})
	if got, want := l.Items[0].Text, "Your appointment with Riverside Surgery is at 11:05am"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	l = r.Layout(View{Kind: Fault, Now: now, ClinicPhone: "01632 960 123", Problem: ProblemSpeaker})
	last := l.Items[len(l.Items)-1]
	found := false
	for _, line := range last.Lines {
		found = found || strings.Contains(line, "01632 960 123")
	}
	if !found {
		t.Errorf("phone number broken across lines: %q", last.Lines)
	}
}

// TestJoinWindowWithoutTheAppointment: if the booth is in a window but the appointment's
// details are not known, the screen does not invent a time.
func TestJoinWindowWithoutTheAppointment(t *testing.T) {
	r, err := NewRenderer(image.Pt(1280, 720))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	for _, auto := range []bool{false, true} {
		text := r.Layout(View{Kind: JoinWindow, Now: now, AutoJoin: auto}).Text()
		if strings.Contains(text, "midnight") || strings.Contains(text, "am") || !strings.Contains(text, "It is time for your appointment with the clinic") {
			t.Errorf("auto %v: %q, want no time and \"It is time for your appointment with the clinic\"", auto, text)
		}
	}
}
