package drill

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestPickNewestOfEachWatchAndDestinationPlusASample(t *testing.T) {
	day := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	var all []Target
	for _, dest := range []string{"usb", "cloud"} {
		for _, watch := range []string{"pos", "books"} {
			for i := range 10 {
				all = append(all, Target{Dest: dest, Watch: watch, Remote: watch + "/" + string(rune('a'+i)), Modified: day.AddDate(0, 0, i)})
			}
		}
	}
	got := Pick(all, 3, rand.New(rand.NewPCG(1, 1)))
	if len(got) != 4+3 {
		t.Fatalf("picked %d, want 4 newest and 3 older", len(got))
	}
	newest := day.AddDate(0, 0, 9)
	seen := map[string]bool{}
	for i, p := range got[:4] {
		if !p.Modified.Equal(newest) {
			t.Errorf("pick %d (%s %s %s) is not the newest", i, p.Dest, p.Watch, p.Remote)
		}
		seen[p.Dest+"/"+p.Watch] = true
	}
	if len(seen) != 4 {
		t.Errorf("newest picks cover %v, want every watch at every destination", seen)
	}
	for _, p := range got[4:] {
		if p.Modified.Equal(newest) {
			t.Errorf("a sample pick repeats a newest one: %+v", p)
		}
	}
	// Another seed draws another sample.
	other := Pick(all, 3, rand.New(rand.NewPCG(2, 2)))
	same := true
	for i := 4; i < 7; i++ {
		same = same && other[i].Remote == got[i].Remote && other[i].Dest == got[i].Dest
	}
	if same {
		t.Error("two seeds drew the same sample")
	}
	if n := len(Pick(all, 1000, nil)); n != len(all) {
		t.Errorf("a sample larger than what is stored picked %d of %d", n, len(all))
	}
}
