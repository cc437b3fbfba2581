package task

import (
	"strings"
	"time"
	// The zone database is compiled in, so a zone name means the same on
	// every executor and at plan time in the provider, whatever the host
	// has installed.
	_ "time/tzdata"
)

// LoadTimeZone returns the location of an IANA time zone name such as
// "Asia/Shanghai" or "UTC"; empty means UTC. "Local" is refused: it would
// mean whatever zone the executor's host is set to.
func LoadTimeZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if err := ValidateTimeZone(name); err != nil {
		return nil, err
	}
	return time.LoadLocation(name)
}

// ValidateTimeZone checks time_zone: an IANA time zone name of the zone
// database (such as UTC, Europe/Berlin or Asia/Shanghai), case as in the
// database.
func ValidateTimeZone(name string) error {
	if name == "" {
		return fieldErr("time_zone", RuleRequired, "is required (an IANA time zone name such as UTC or Asia/Shanghai)")
	}
	if name == "Local" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return fieldErr("time_zone", RuleTimeZone,
			"%q is not an IANA time zone name such as UTC, Europe/Berlin or Asia/Shanghai", name)
	}
	if _, err := time.LoadLocation(name); err != nil {
		return fieldErr("time_zone", RuleTimeZone,
			"%q is not an IANA time zone name such as UTC, Europe/Berlin or Asia/Shanghai (names are case-sensitive)", name)
	}
	return nil
}

// Location returns the spec's time zone (UTC when none is set).
func (s *Spec) Location() (*time.Location, error) { return LoadTimeZone(s.TimeZone) }
