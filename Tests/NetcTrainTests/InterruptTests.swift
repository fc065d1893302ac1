import Foundation
import Testing
@testable import NetcTrain

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM (what `timeout`, `kill` and job schedulers send) stops training as Ctrl-C does: it used
/// to end the process at once, leaving a run directory without a checkpoint that could be neither
/// resumed nor reused. Checked in a forked child, so the signal never reaches the tests running
/// alongside.
@Suite struct InterruptTests {
    /// Forks; the child installs the handlers, raises `signal` and exits with what it saw.
    func childStatus(raising signal: Int32) -> (exited: Int32?, killedBy: Int32?) {
        let pid = fork()
        if pid == 0 {
            Interrupt.install()
            // The test runner's threads may block signals; the child's one thread must not.
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, signal)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            raise(signal)
            _exit(Interrupt.wasRequested ? (Interrupt.exitStatus == 128 + signal ? 42 : 2) : 1)
        }
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        let low = status & 0x7f
        return low == 0 ? ((status >> 8) & 0xff, nil) : (nil, low)
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func aSignalAsksTheLoopToStopWithItsExitStatus(_ signal: Int32) {
        let r = childStatus(raising: signal)
        #expect(r.killedBy == nil, "the child was killed by signal \(r.killedBy ?? 0)")
        #expect(r.exited == 42)
    }
}
