package app

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// ExecLauncher starts programs as the agent's own user, in their own
// session, detached from the agent: with the original arguments and
// working directory (the home directory if that is gone) and the agent's
// environment.
type ExecLauncher struct{}

// Launch starts path and does not wait for it.
func (ExecLauncher) Launch(path string, args []string, cwd string) error {
	cmd := exec.Command(path, args...)
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
