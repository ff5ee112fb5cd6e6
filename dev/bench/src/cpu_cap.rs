//! Lambda's CPU share at 128 MB, applied to a process: Lambda gives one full vCPU at 1,769 MB and
//! CPU in proportion to memory, so 128 MB gets 128/1769 ≈ 7.2 % of a core. A cgroup CPU quota
//! does the same here (root and a writable cpu controller needed): a wrapper script puts itself
//! in the group, then `exec`s the function, which so starts capped.

use std::path::{Path, PathBuf};

/// Quota per 100 ms period: 128/1769 of it.
pub const QUOTA_US: u64 = 7_236;
pub const PERIOD_US: u64 = 100_000;
const GROUP: &str = "connect-sso-bench-128mb";

pub struct CpuCap {
    /// The file a process id is written to, to join the group.
    procs_file: PathBuf,
    /// How the cap is set, for the report.
    pub description: String,
}

impl CpuCap {
    /// The cgroup (v1 `cpu` controller, else v2 `cpu.max`), or why it cannot be set.
    pub fn set_up() -> Result<Self, String> {
        let v1 = Path::new("/sys/fs/cgroup/cpu");
        if v1.join("cpu.cfs_quota_us").is_file() {
            let group = v1.join(GROUP);
            let write = |file: &str, value: String| {
                std::fs::write(group.join(file), value)
                    .map_err(|error| format!("writing {}: {error}", group.join(file).display()))
            };
            std::fs::create_dir_all(&group)
                .map_err(|error| format!("creating {}: {error}", group.display()))?;
            write("cpu.cfs_period_us", PERIOD_US.to_string())?;
            write("cpu.cfs_quota_us", QUOTA_US.to_string())?;
            return Ok(Self {
                procs_file: group.join("cgroup.procs"),
                description: format!(
                    "cgroup v1 {}: cpu.cfs_quota_us {QUOTA_US} per cpu.cfs_period_us {PERIOD_US}",
                    group.display()
                ),
            });
        }
        let v2 = Path::new("/sys/fs/cgroup");
        let controllers =
            std::fs::read_to_string(v2.join("cgroup.controllers")).unwrap_or_default();
        if controllers
            .split_whitespace()
            .any(|controller| controller == "cpu")
        {
            let group = v2.join(GROUP);
            std::fs::create_dir_all(&group)
                .map_err(|error| format!("creating {}: {error}", group.display()))?;
            std::fs::write(group.join("cpu.max"), format!("{QUOTA_US} {PERIOD_US}"))
                .map_err(|error| format!("writing {}/cpu.max: {error}", group.display()))?;
            return Ok(Self {
                procs_file: group.join("cgroup.procs"),
                description: format!(
                    "cgroup v2 {}: cpu.max {QUOTA_US} {PERIOD_US}",
                    group.display()
                ),
            });
        }
        Err("no cgroup cpu controller at /sys/fs/cgroup/cpu (v1) or in /sys/fs/cgroup/cgroup.controllers (v2)".to_owned())
    }

    /// A script at `dir/<file name of program>` that joins the group and `exec`s `program`. The
    /// same name, since the Runtime API stand-in names the function after it.
    pub fn wrap(&self, program: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt as _;
        let name = program
            .file_name()
            .ok_or_else(|| anyhow::anyhow!("{} has no file name", program.display()))?;
        std::fs::create_dir_all(dir)?;
        let wrapper = dir.join(name);
        let program = std::fs::canonicalize(program)?;
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\necho $$ > '{}' || exit 97\nexec '{}' \"$@\"\n",
                self.procs_file.display(),
                program.display()
            ),
        )?;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))?;
        Ok(wrapper)
    }
}
