package modules

func runDaemonMode() {}

const daemonModeEnv = "MODULES_TEST_DAEMON"
