package testfixture

import "fmt"

// Unshell is the iomeshctl command line inside cmd as the reader runs it, under /bin/sh so
// that the exit status follows the output (pkg/inventory's IOMeshctl); any other cmd is
// returned as it is. Fakes answer the iomeshctl command as before.
func Unshell(cmd []string) (iomeshctl []string, shelled bool) {
	if len(cmd) >= 4 && cmd[0] == "/bin/sh" && cmd[1] == "-c" && cmd[3] == "iomeshctl" {
		return append([]string{"/opt/iomesh/iomeshctl"}, cmd[4:]...), true
	}
	return cmd, false
}

// Exited is out as the reader's shell prints it once iomeshctl has exited with code: an
// output without it is a stream that ended early.
func Exited(out string, code int) string {
	return fmt.Sprintf("%s\nkubectl-iomesh: iomeshctl exited %d\n", out, code)
}
