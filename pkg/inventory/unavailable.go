package inventory

// Unavailable says why something the tool reads is not there: a fact to report, not a
// failure. A nil *Unavailable is something that is there.
type Unavailable struct {
	Reason Reason
	// Text says it for people, with the likely cause.
	Text string
}

// Reason is why something is unavailable.
type Reason string

const (
	// NotInstalled is an API the cluster does not serve (its CRD is absent).
	NotInstalled Reason = "not-installed"
	// NotFound is an object that does not exist.
	NotFound Reason = "not-found"
	// NotPermitted is something the user may not read.
	NotPermitted Reason = "not-permitted"
)

func (u *Unavailable) String() string {
	if u == nil {
		return ""
	}
	return u.Text
}
