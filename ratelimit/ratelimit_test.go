package ratelimit

import (
	"errors"
	"testing"
	"time"
)

func TestLimit_Validate_RejectsNonPositiveAndUnrepresentableLimits(t *testing.T) {
	tests := []struct {
		name    string
		limit   Limit
		wantErr bool
	}{
		{"valid", Limit{Rate: 10, Period: time.Second, Burst: 5}, false},
		{"valid burst of one", Limit{Rate: 1, Period: time.Minute, Burst: 1}, false},
		{"zero rate", Limit{Rate: 0, Period: time.Second, Burst: 1}, true},
		{"negative rate", Limit{Rate: -1, Period: time.Second, Burst: 1}, true},
		{"zero period", Limit{Rate: 1, Period: 0, Burst: 1}, true},
		{"negative period", Limit{Rate: 1, Period: -time.Second, Burst: 1}, true},
		{"zero burst", Limit{Rate: 1, Period: time.Second, Burst: 0}, true},
		{"negative burst", Limit{Rate: 1, Period: time.Second, Burst: -3}, true},
		{"zero value", Limit{}, true},
		{"interval below 1ns", Limit{Rate: 2, Period: time.Nanosecond, Burst: 1}, true},
		{"tolerance overflows", Limit{Rate: 1, Period: 1 << 40, Burst: 1 << 30}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.limit.Validate()
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidLimit) {
					t.Fatalf("Validate(%+v) = %v, want error wrapping ErrInvalidLimit", tt.limit, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate(%+v) = %v, want nil", tt.limit, err)
			}
		})
	}
}
