# Shared settings for the richcontainer test boxes (loaded by each Vagrantfile).
#
# Environment knobs:
#   RC_BOX        override the box name (e.g. generic/centos7)
#   RC_MEMORY     MiB of RAM (default 2048), RC_CPUS (default 2)
#   RC_SKIP_TESTS=1  provision only, do not run `richcontainer check` and the tests

RC_ROOT = File.expand_path("..", __dir__)

def richcontainer_box(config, box:, name:, provision:, tests:)
  config.vm.box = ENV.fetch("RC_BOX", box)
  config.vm.hostname = "rc-#{name}"
  memory = Integer(ENV.fetch("RC_MEMORY", "2048"))
  cpus = Integer(ENV.fetch("RC_CPUS", "2"))

  # rsync works with both providers and needs no guest additions (the CentOS boxes have none).
  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.vm.synced_folder RC_ROOT, "/opt/richcontainer", type: "rsync",
    rsync__exclude: [".git/", "__pycache__/", "*.egg-info/", ".pytest_cache/", "bench/results/", "vagrant/*/.vagrant/"]

  config.vm.provider :virtualbox do |vb|
    vb.memory = memory
    vb.cpus = cpus
  end
  config.vm.provider :libvirt do |lv|
    lv.memory = memory
    lv.cpus = cpus
    lv.nested = true
  end

  config.vm.provision "setup", type: "shell", path: File.join(__dir__, "provision", provision)
  unless ENV["RC_SKIP_TESTS"] == "1"
    config.vm.provision "tests", type: "shell", path: File.join(__dir__, "provision", "run-tests.sh"),
      args: [tests]
  end
end
