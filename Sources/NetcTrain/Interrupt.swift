#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C (SIGINT) or SIGTERM during training: the first one asks the loop to save a checkpoint
/// and stop at the end of the current step; a second one exits at once (the last checkpoint stays
/// whole, since checkpoints are written atomically). SIGTERM is what `timeout`, `kill`, systemd and
/// job schedulers send: left to its default it ended a run before its first checkpoint with a
/// directory that could be neither resumed nor reused.
enum Interrupt {
    /// The signal that asked to stop, 0 if none.
    nonisolated(unsafe) private static var requested: sig_atomic_t = 0
    static let signals = [SIGINT, SIGTERM]

    static var wasRequested: Bool { requested != 0 }

    /// 128 + the signal, as a shell reports a process the signal ended (130 for Ctrl-C).
    static var exitStatus: Int32 { 128 + (requested != 0 ? requested : SIGINT) }

    static func install() {
        requested = 0
        for s in signals {
            signal(s) { s in
                if Interrupt.requested != 0 { _exit(128 + Interrupt.requested) }
                Interrupt.requested = s
            }
        }
    }

    static func uninstall() { for s in signals { signal(s, SIG_DFL) } }
}
