import Foundation

/// Progress on the terminal: one live line per epoch (step/total, loss, accuracy, images/s, ETA)
/// when standard output is a terminal, plain periodic lines when it is not (logs, CI).
struct Progress {
    let interactive = isatty(STDOUT_FILENO) != 0
    var lastPlainLine = Date.distantPast

    mutating func step(epoch: Int, epochs: Int, step: Int, steps: Int, loss: Double, accuracy: Double,
                       imagesPerSecond: Double, secondsLeft: Double, every logEvery: Int) {
        let line = String(format: "epoch %d/%d  step %d/%d  loss %.4f  acc %.3f  %.1f img/s  ETA %@",
                          epoch + 1, epochs, step, steps, loss, accuracy, imagesPerSecond, Self.clock(secondsLeft))
        if interactive {
            print("\r\u{1B}[K" + line, terminator: "")
            fflush(stdout)
        } else if step % logEvery == 0 || step == steps {
            print(line)
            fflush(stdout)
        }
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
