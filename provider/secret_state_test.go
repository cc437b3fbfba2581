package provider

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// TestAccRoleSecretAbsentFromState applies a role whose OSS secret is a
// write-only attribute, with OpenTofu when bin/tofu exists, and reads every
// file of the working directory (state, backups, plans) after each step:
// the secret must be in none. A last step sets a third secret through the
// ordinary attribute and checks that the scan does find it, so the test
// would notice a write-only secret reaching the state.
func TestAccRoleSecretAbsentFromState(t *testing.T) {
	e := startExecutor(t)
	if tofu, err := filepath.Abs(filepath.Join("..", "bin", "tofu")); err == nil {
		if _, err := os.Stat(tofu); err == nil {
			t.Setenv("TF_ACC_TERRAFORM_PATH", tofu)
			t.Setenv("TF_ACC_PROVIDER_NAMESPACE", "hashicorp")
			t.Setenv("TF_ACC_PROVIDER_HOST", "registry.opentofu.org")
		}
	}
	t.Logf("CLI: %s", os.Getenv("TF_ACC_TERRAFORM_PATH"))
	workDir := t.TempDir()
	const (
		firstSecret  = "wo-secret-first-3f9a7c21d4e8"
		rotated      = "wo-secret-rotated-8b2e61f0c5a9"
		stateSecret  = "plain-secret-in-state-61d0e4b7"
		writeOnlyFmt = `
  oss_access_key_secret_wo         = %q
  oss_access_key_secret_wo_version = %d`
	)
	absent := func(secrets ...string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			found, scanned, err := filesHolding(workDir, secrets)
			if err != nil {
				return err
			}
			if scanned == 0 || !hasStateFile(workDir) {
				return fmt.Errorf("no state file under %s: nothing was checked", workDir)
			}
			if len(found) > 0 {
				return fmt.Errorf("a write-only secret is stored in %v", keys(found))
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		WorkingDir:               workDir,
		Steps: []resource.TestStep{
			{
				Config: roleConfig(e, fmt.Sprintf(writeOnlyFmt, firstSecret, 1)),
				Check:  absent(firstSecret),
			},
			{
				// Rotation sends the new secret; neither reaches the state.
				Config: roleConfig(e, fmt.Sprintf(writeOnlyFmt, rotated, 2)),
				Check:  absent(firstSecret, rotated),
			},
			{
				// Control: the ordinary attribute is kept in the state, and
				// the scan finds it there.
				Config: roleConfig(e, fmt.Sprintf("  oss_access_key_secret = %q", stateSecret)),
				Check: func(*terraform.State) error {
					found, _, err := filesHolding(workDir, []string{stateSecret})
					if err != nil {
						return err
					}
					if len(found) == 0 {
						return fmt.Errorf("the scan of %s did not find a secret that is in the state: it cannot see leaks", workDir)
					}
					found, _, err = filesHolding(workDir, []string{firstSecret, rotated})
					if err != nil {
						return err
					}
					if len(found) > 0 {
						return fmt.Errorf("a write-only secret is stored in %v", keys(found))
					}
					return nil
				},
			},
		},
	})
}

// filesHolding returns the files under dir (relative paths) that contain
// any of the secrets, and how many files were read. The configuration
// files (*.tf) are skipped: they hold the secret the user wrote.
func filesHolding(dir string, secrets []string) (map[string]bool, int, error) {
	found := map[string]bool{}
	scanned := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(d.Name(), ".tf") {
			return err
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() || info.Size() > 64<<20 {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				rel, _ := filepath.Rel(dir, path)
				found[rel] = true
			}
		}
		return nil
	})
	return found, scanned, err
}

func hasStateFile(dir string) bool {
	has := false
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".tfstate") {
			has = true
		}
		return nil
	})
	return has
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
