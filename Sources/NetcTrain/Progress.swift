import Foundation

/// Progress on the terminal: one live line per epoch (step/total, loss, accuracy, images/s, ETA)
/// when standard output is a terminal, plain periodic lines when it is not (logs, CI).
struct Progress {
    let interactive = isatty(STDOUT_FILENO) != 0
    var lastPlainLine = Date.distantPast

    mutating func step(epoch: Int, epochs: Int, step: Int, steps: Int, loss: Double, accuracy: Double,
                       imagesPerSecond: Double, secondsLeft: Double, runSecondsLeft: Double, every logEvery: Int) {
        let line = Self.line(epoch: epoch, epochs: epochs, step: step, steps: steps, loss: loss, accuracy: accuracy,
                             imagesPerSecond: imagesPerSecond, secondsLeft: secondsLeft, runSecondsLeft: runSecondsLeft)
        if interactive {
            print("\r\u{1B}[K" + line, terminator: "")
            fflush(stdout)
        } else if step % logEvery == 0 || step == steps {
            print(line)
            fflush(stdout)
        }
    }

    /// The live line: the epoch's ETA, and the whole run's while epochs remain after this one.
    static func line(epoch: Int, epochs: Int, step: Int, steps: Int, loss: Double, accuracy: Double,
                     imagesPerSecond: Double, secondsLeft: Double, runSecondsLeft: Double) -> String {
        let line = String(format: "epoch %d/%d  step %d/%d  loss %.4f  acc %.3f  %.1f img/s  ETA %@",
                          epoch + 1, epochs, step, steps, loss, accuracy, imagesPerSecond, clock(secondsLeft))
        return epoch + 1 < epochs ? line + "  (run \(clock(runSecondsLeft)))" : line
    }

    /// The test set's evaluation, which takes a while on large inputs: a live line when interactive.
    func evaluating(_ done: Int, of total: Int) {
        guard interactive else { return }
        print("\r\u{1B}[K" + "evaluating the test set: \(done)/\(total) images", terminator: "")
        fflush(stdout)
    }

    func epochDone(_ line: String) {
        print((interactive ? "\r\u{1B}[K" : "") + line)
        fflush(stdout)
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
