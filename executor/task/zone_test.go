package task

import (
	"strings"
	"testing"
	"time"
)

const zoneTestPrefix = "p/year=$yyyy/month=$MM/day=$dd/hour=$HH/min=$mm"

func evaluateIn(t *testing.T, zone string, at time.Time) string {
	t.Helper()
	tmpl, err := ParsePrefix(zoneTestPrefix)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := LoadTimeZone(zone)
	if err != nil {
		t.Fatalf("LoadTimeZone(%q): %v", zone, err)
	}
	return tmpl.In(loc).Evaluate(at)
}

func TestEvaluateInUTCByDefault(t *testing.T) {
	at := time.Date(2020, 12, 31, 21, 7, 0, 0, time.UTC)
	want := "p/year=2020/month=12/day=31/hour=21/min=07"
	if got := evaluateIn(t, "UTC", at); got != want {
		t.Errorf("UTC: %q, want %q", got, want)
	}
	if got := evaluateIn(t, "", at); got != want {
		t.Errorf("empty zone: %q, want %q", got, want)
	}
	s := Spec{}
	s.ApplyDefaults()
	if s.TimeZone != "UTC" {
		t.Errorf("default time_zone = %q, want UTC", s.TimeZone)
	}
}

// Asia/Shanghai has no daylight saving: 21:07 UTC on New Year's Eve is
// already 05:07 the next year there, so the row lands in next year's folder.
func TestEvaluateInZoneCrossesDateLine(t *testing.T) {
	at := time.Date(2020, 12, 31, 21, 7, 0, 0, time.UTC)
	if got, want := evaluateIn(t, "Asia/Shanghai", at), "p/year=2021/month=01/day=01/hour=05/min=07"; got != want {
		t.Errorf("Asia/Shanghai: %q, want %q", got, want)
	}
	// The template given a zone does not change the template it came from.
	tmpl, _ := ParsePrefix(zoneTestPrefix)
	loc, _ := LoadTimeZone("Asia/Shanghai")
	_ = tmpl.In(loc)
	if got := tmpl.Evaluate(at); !strings.Contains(got, "year=2020") {
		t.Errorf("In changed the original template: %q", got)
	}
}

// America/New_York springs forward on 2021-03-14 at 02:00 EST (07:00 UTC)
// to 03:00 EDT and falls back on 2021-11-07 at 02:00 EDT (06:00 UTC) to
// 01:00 EST: the hour folder skips 02 in spring and shows 01 twice in
// autumn.
func TestEvaluateAcrossDaylightSavingTransitions(t *testing.T) {
	cases := []struct {
		utc  time.Time
		want string
	}{
		{time.Date(2021, 3, 14, 6, 59, 0, 0, time.UTC), "p/year=2021/month=03/day=14/hour=01/min=59"}, // EST
		{time.Date(2021, 3, 14, 7, 0, 0, 0, time.UTC), "p/year=2021/month=03/day=14/hour=03/min=00"},  // EDT
		{time.Date(2021, 11, 7, 5, 30, 0, 0, time.UTC), "p/year=2021/month=11/day=07/hour=01/min=30"}, // EDT
		{time.Date(2021, 11, 7, 6, 30, 0, 0, time.UTC), "p/year=2021/month=11/day=07/hour=01/min=30"}, // EST, again
		{time.Date(2021, 11, 7, 7, 0, 0, 0, time.UTC), "p/year=2021/month=11/day=07/hour=02/min=00"},
		// Summer (UTC-4) and winter (UTC-5) on either side of midnight UTC.
		{time.Date(2021, 7, 1, 3, 0, 0, 0, time.UTC), "p/year=2021/month=06/day=30/hour=23/min=00"},
		{time.Date(2021, 1, 1, 4, 0, 0, 0, time.UTC), "p/year=2020/month=12/day=31/hour=23/min=00"},
	}
	for _, c := range cases {
		if got := evaluateIn(t, "America/New_York", c.utc); got != c.want {
			t.Errorf("America/New_York at %s: %q, want %q", c.utc.Format(time.RFC3339), got, c.want)
		}
	}
}

func TestValidateTimeZone(t *testing.T) {
	for _, ok := range []string{"UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York", "Etc/GMT-8"} {
		if err := ValidateTimeZone(ok); err != nil {
			t.Errorf("ValidateTimeZone(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"Mars/Olympus", "utc", "asia/shanghai", "Local", "/etc/localtime", "../../etc/passwd", "+08:00"} {
		err := ValidateTimeZone(bad)
		fe, ok := AsFieldError(err)
		if !ok || fe.Field != "time_zone" || fe.Rule != RuleTimeZone || !strings.Contains(fe.Message, "IANA time zone") {
			t.Errorf("ValidateTimeZone(%q) = %v, want a time_zone rule error", bad, err)
		}
	}
	s := validSpecForZone()
	s.TimeZone = "Nowhere/Special"
	fe, ok := AsFieldError(s.Validate())
	if !ok || fe.Field != "time_zone" {
		t.Errorf("Validate with a bad zone = %v, want a time_zone error", fe)
	}
}

func validSpecForZone() Spec {
	s := Spec{Name: "zone-task", Table: "orders", Region: "cn-hangzhou", Bucket: "lake", Prefix: "orders/$yyyy",
		RoleARN: RoleARN(DefaultAccountID, DefaultRoleName)}
	s.ApplyDefaults()
	return s
}

// Equal MinuteOf means an equal prefix, also where a zone's offset had
// seconds (Europe/Amsterdam kept +00:19:32 until 1937) and across DST.
func TestMinuteOfKeysEvaluate(t *testing.T) {
	tmpl, err := ParsePrefix(zoneTestPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, zone := range []string{"UTC", "Europe/Amsterdam", "America/New_York", "Asia/Kathmandu"} {
		loc, err := LoadTimeZone(zone)
		if err != nil {
			t.Fatal(err)
		}
		z := tmpl.In(loc)
		for _, start := range []time.Time{
			time.Date(1930, 6, 1, 12, 0, 0, 0, time.UTC),
			time.Date(2021, 11, 7, 5, 58, 0, 0, time.UTC),
			time.Date(1969, 12, 31, 23, 58, 0, 0, time.UTC),
		} {
			byMinute := map[int64]string{}
			for s := 0; s < 300; s += 7 {
				at := start.Add(time.Duration(s) * time.Second)
				got := z.Evaluate(at)
				if prev, ok := byMinute[z.MinuteOf(at)]; ok && prev != got {
					t.Fatalf("%s at %s: MinuteOf %d gave %q and %q", zone, at, z.MinuteOf(at), prev, got)
				}
				byMinute[z.MinuteOf(at)] = got
			}
		}
	}
}
