package expect

import "testing"

func TestSuspicious(t *testing.T) {
	mb := int64(1 << 20)
	for _, tc := range []struct {
		name       string
		size       int64
		recent     []int64
		ratio      float64
		want       bool
		wantMedian int64
	}{
		{"too little history", 1, []int64{50 * mb, 50 * mb}, 0, false, 0},
		{"three is enough", 5 * mb, []int64{50 * mb, 48 * mb, 52 * mb}, 0, true, 50 * mb},
		{"just under 20%", 10*mb - 1, []int64{50 * mb, 50 * mb, 50 * mb}, 0, true, 50 * mb},
		{"exactly 20% is fine", 10 * mb, []int64{50 * mb, 50 * mb, 50 * mb}, 0, false, 50 * mb},
		{"even count: mean of the middle two", 1, []int64{10, 20, 30, 40}, 0, true, 25},
		{"only the last 7 count", 30 * mb, []int64{1000 * mb, 1000 * mb, 1000 * mb, 40 * mb, 40 * mb, 40 * mb, 40 * mb, 40 * mb, 40 * mb, 40 * mb}, 0, false, 40 * mb},
		{"one huge export does not move the median", 30 * mb, []int64{50 * mb, 50 * mb, 50 * mb, 5000 * mb}, 0, false, 50 * mb},
		{"own ratio", 30 * mb, []int64{50 * mb, 50 * mb, 50 * mb}, 0.7, true, 50 * mb},
		{"negative ratio turns it off", 0, []int64{50 * mb, 50 * mb, 50 * mb}, -1, false, 0},
		{"empty history of empty files", 0, []int64{0, 0, 0}, 0, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, median := Suspicious(tc.size, tc.recent, tc.ratio)
			if got != tc.want || median != tc.wantMedian {
				t.Errorf("Suspicious = %v, %d; want %v, %d", got, median, tc.want, tc.wantMedian)
			}
		})
	}
}

func TestCheckerSmallUsesRuleRatio(t *testing.T) {
	c, err := New(Rule{MinSizeRatio: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if small, _ := c.Small(40, []int64{100, 100, 100}); !small {
		t.Error("40 of 100 with ratio 0.5 not small")
	}
}
