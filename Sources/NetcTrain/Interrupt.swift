#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C during training: the first SIGINT asks the loop to save a checkpoint and stop at the
/// end of the current step; a second one exits at once (the last checkpoint stays whole, since
/// checkpoints are written atomically).
enum Interrupt {
    nonisolated(unsafe) private static var requested: sig_atomic_t = 0

    static var wasRequested: Bool { requested != 0 }

    static func install() {
        requested = 0
        signal(SIGINT) { _ in
            if Interrupt.requested != 0 { _exit(130) }
            Interrupt.requested = 1
        }
    }

    static func uninstall() { signal(SIGINT, SIG_DFL) }
}
