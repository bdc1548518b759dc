package app

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// ExecLauncher starts programs as the agent's own user, in their own
// session, detached from the agent: with the original arguments and
// working directory (the home directory if that is gone) and the agent's
// environment.
type ExecLauncher struct{}

// Launch starts path and does not wait for it.
func (ExecLauncher) Launch(path string, args []string, cwd string) error {
	name, argv := launchCommand(path, args)
	cmd := exec.Command(name, argv...)
	cmd.Dir = cwd
	if st, err := os.Stat(cwd); cwd == "" || err != nil || !st.IsDir() {
		cmd.Dir, _ = os.UserHomeDir()
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", path, err)
	}
	go cmd.Wait() // reap it; its exit is none of our business
	return nil
}

// openBundle is how macOS starts the app bundle path is the main
// executable of, as Finder would (LaunchServices: its Dock icon, its
// windows, a second launch handing over to the running copy), with the
// original arguments: open -a BUNDLE --args ARGS. ok is false for a
// program outside a bundle, which is started directly.
func openBundle(path string, args []string) (argv []string, ok bool) {
	i := strings.Index(path, ".app/Contents/MacOS/")
	if i < 0 || strings.LastIndexByte(path[:i], '/') == i-1 {
		return nil, false
	}
	argv = []string{"-a", path[:i+len(".app")]}
	if len(args) > 0 {
		argv = append(append(argv, "--args"), args...)
	}
	return argv, true
}
