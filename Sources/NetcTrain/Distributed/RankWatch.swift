import CMPI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Rank 0's report of a rank that dies (kill -9, a crash, the OOM killer), naming it.
///
/// Open MPI without ULFM does not tell the other ranks that one died: rank 0 waits inside a
/// collective until mpirun kills it, and only mpirun speaks ("process rank 1 ... exited on
/// signal 9"). So each other rank also holds a TCP connection to rank 0, outside MPI. The kernel
/// closes a process's sockets as it dies, on any host, as soon as mpirun hears of the death; rank
/// 0's watcher thread, seeing a connection close without the rank's "bye" first, says which rank
/// died, where training stood and what the run directory holds, and ends rank 0 (mpirun ends the
/// rest). A host that goes down closes nothing: then mpirun alone reports it, as before.
/// In a world of one it does nothing: no socket, no thread.
final class RankWatch: @unchecked Sendable {
    /// Where training stands, for the report.
    enum Phase {
        case starting
        case step(Int, epoch: Int)
        case evaluating(epoch: Int)
    }

    private struct Peer {
        var fd: Int32
        var rank: Int
        var pid: Int
        var host: String
        /// It said it is leaving on purpose (its own error, or the end): its close is not a death.
        var saidBye = false
    }

    private let size: Int
    /// Another rank's connection to rank 0; -1 on rank 0 and once left.
    private var link: Int32
    /// Held while rank 0 writes a checkpoint, so that a report waits for the write to end and names
    /// it (the write is atomic, but ending in its middle would leave a stray temporary file).
    private let lock = NSLock()
    private var phase = Phase.starting
    private var runDirectory: String?
    private var checkpointStep: Int?
    private var leaving = false

    /// A world of one: nothing to watch.
    init() { size = 1; link = -1 }

    private init(size: Int, link: Int32) { self.size = size; self.link = link }

    // MARK: What training tells it (rank 0's matters; the others' is kept and never read)

    func at(_ phase: Phase) {
        lock.lock(); defer { lock.unlock() }
        self.phase = phase
    }

    /// The run directory the report points to, and the step of the checkpoint it holds, if any.
    func track(runDirectory: String, checkpointStep: Int?) {
        lock.lock(); defer { lock.unlock() }
        self.runDirectory = runDirectory
        self.checkpointStep = checkpointStep
    }

    /// Runs `save`, which writes the checkpoint of step `step`; a report waits until it is done.
    func saving(step: Int, _ save: () throws -> Void) rethrows {
        lock.lock(); defer { lock.unlock() }
        try save()
        checkpointStep = step
    }

    /// This rank ends on purpose (done, stopped, or an error it reports): rank 0 stops watching;
    /// another rank says "bye", so that rank 0 does not take its exit for a death.
    func leave() {
        lock.lock(); defer { lock.unlock() }
        leaving = true
        guard link >= 0 else { return }
        _ = send(link, "bye\n", 4, Int32(MSG_NOSIGNAL))   // rank 0 may be gone already: no SIGPIPE
        close(link)
        link = -1
    }

    // MARK: Setting up

    /// Connects the ranks to rank 0 and starts its watcher; every rank calls it, after MPI_Init.
    /// A rank that cannot connect trains anyway, and rank 0 warns that mpirun alone reports its death.
    static func start(rank: Int, size: Int) -> RankWatch {
        // Rank 0 invites the others: "netc-watch <token> <port> <host> <address>...", or "" when it
        // cannot listen. The token keeps out anything else that connects to the port.
        var invitation = [UInt8](repeating: 0, count: 1024)
        var listener: (fd: Int32, port: Int)?
        let token = UInt64.random(in: 1 ... .max)
        if rank == 0 {
            do {
                listener = try listen()
                var text = "netc-watch \(token) \(listener!.port) \(hostName())"
                for address in interfaceAddresses().prefix(3) where text.utf8.count + address.utf8.count < invitation.count - 2 {
                    text += " " + address
                }
                invitation.replaceSubrange(0..<text.utf8.count, with: text.utf8)
            } catch {
                warn("rank 0 cannot watch the other ranks (\(error)); if one dies, only mpirun reports it")
            }
        }
        let code = invitation.withUnsafeMutableBytes { netc_mpi_broadcast_bytes($0.baseAddress!, Int32($0.count), 0) }
        guard code == MPI_SUCCESS else { return RankWatch(size: size, link: -1) }   // MPI's handler aborts first

        let link = rank == 0 ? -1 : join(invitation, rank: rank)
        // How many joined, so that rank 0 does not wait for those that could not (a firewall that
        // refuses): their connections are queued for it to accept by the time this returns.
        var joined = [link >= 0 ? 1.0 : 0]
        guard netc_mpi_sum_doubles(&joined, 1) == MPI_SUCCESS else { return RankWatch(size: size, link: link) }
        let watch = RankWatch(size: size, link: link)
        guard rank == 0, let listener else { return watch }
        let peers = welcome(listener.fd, token: token, size: size, expected: Int(joined[0]))
        close(listener.fd)   // nobody else may join
        let missing = Set(1..<size).subtracting(peers.map(\.rank)).sorted()
        if !missing.isEmpty {
            let named = missing.prefix(8).map(String.init).joined(separator: ", ") + (missing.count > 8 ? " and \(missing.count - 8) more" : "")
            warn("rank\(missing.count > 1 ? "s" : "") \(named) of \(size) could not "
                 + "connect to rank 0 (TCP port \(listener.port) of \(hostName()); a firewall?); "
                 + "if \(missing.count > 1 ? "one of them dies" : "it dies"), only mpirun reports it")
        }
        if !peers.isEmpty { Thread { watch.watch(peers) }.start() }
        return watch
    }

    /// Another rank: connects to rank 0 and says who it is. The connection, or -1.
    private static func join(_ invitation: [UInt8], rank: Int) -> Int32 {
        let words = String(decoding: invitation.prefix { $0 != 0 }, as: UTF8.self).split(separator: " ").map(String.init)
        guard words.count >= 4, words[0] == "netc-watch", let port = Int(words[2]) else { return -1 }
        let me = hostName()
        // On rank 0's host, loopback; else its name, then its addresses (2 s each, 8 s at most).
        let candidates = (words[3] == me ? ["127.0.0.1"] : []) + words[3...].prefix(4)
        for host in candidates {
            let fd = connect(host, port: port, timeoutMs: 2000)
            guard fd >= 0 else { continue }
            let hello = "hello \(words[1]) \(rank) \(getpid()) \(me)\n"
            if send(fd, hello, hello.utf8.count, Int32(MSG_NOSIGNAL)) == hello.utf8.count { return fd }
            close(fd)
        }
        return -1
    }

    /// Rank 0: accepts the `expected` connections of the other ranks, each with its hello, for up
    /// to 10 s (one that reached something else in rank 0's stead never comes).
    private static func welcome(_ listener: Int32, token: UInt64, size: Int, expected: Int) -> [Peer] {
        let deadline = now() + 10_000
        var peers: [Peer] = []
        while peers.count < expected, now() < deadline {
            var ready = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            let n = poll(&ready, 1, Int32(deadline - now()))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                break   // out of descriptors: the rest go unwatched, and the warning names them
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if let peer = hello(fd, token: token, size: size, deadline: min(deadline, now() + 2000)),
               !peers.contains(where: { $0.rank == peer.rank }) {
                peers.append(peer)
            } else {
                close(fd)
            }
        }
        return peers
    }

    /// Reads "hello <token> <rank> <pid> <host>\n" from a new connection; nil if it is not one of ours.
    private static func hello(_ fd: Int32, token: UInt64, size: Int, deadline: Int) -> Peer? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 256)
        while !bytes.contains(UInt8(ascii: "\n")) {
            guard bytes.count < 512, now() < deadline else { return nil }
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let p = poll(&ready, 1, Int32(max(deadline - now(), 0)))
            if p < 0 && errno == EINTR { continue }
            guard p > 0 else { return nil }
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            bytes += chunk[0..<n]
        }
        let end = bytes.firstIndex(of: UInt8(ascii: "\n"))!
        let words = String(decoding: bytes[..<end], as: UTF8.self).split(separator: " ").map(String.init)
        guard words.count == 5, words[0] == "hello", words[1] == String(token),
              let rank = Int(words[2]), (1..<size).contains(rank), let pid = Int(words[3]) else { return nil }
        // A rank that already left (a quick error) sent its bye behind the hello.
        return Peer(fd: fd, rank: rank, pid: pid, host: words[4], saidBye: end + 1 < bytes.count)
    }

    // MARK: Watching (rank 0's thread)

    private func watch(_ peers: [Peer]) {
        var peers = peers
        var chunk = [UInt8](repeating: 0, count: 64)
        while !peers.isEmpty {
            var fds = peers.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let n = poll(&fds, nfds_t(fds.count), -1)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }   // cannot poll: mpirun is left to report
            for i in fds.indices.reversed() where fds[i].revents != 0 {
                let got = read(peers[i].fd, &chunk, chunk.count)
                if got < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if got > 0 { peers[i].saidBye = true; continue }   // all a rank sends after its hello
                // Closed (or reset): a rank that did not say bye died. Not after a stop was asked:
                // mpirun, stopped, sends every rank SIGTERM, then SIGKILL a second later.
                if !peers[i].saidBye && !Interrupt.wasRequested { died(peers[i]) }
                close(peers[i].fd)
                peers.remove(at: i)
            }
        }
    }

    /// Says which rank died and what the run directory holds, and ends rank 0; returns only if
    /// rank 0 is itself leaving (then mpirun reports whatever happens).
    private func died(_ peer: Peer) {
        lock.lock()   // waits for a checkpoint being written; never released if this process ends here
        guard !leaving else { lock.unlock(); return }
        let at = switch phase {
        case .starting: "before training began"
        case let .step(step, epoch): "at step \(step) (epoch \(epoch))"
        case let .evaluating(epoch): "while the ranks evaluated epoch \(epoch)"
        }
        var text = "error: rank \(peer.rank) of \(size) (pid \(peer.pid) on \(peer.host)) died \(at); rank 0 stops the job\n"
        if let runDirectory {
            let checkpoint = (runDirectory as NSString).appendingPathComponent(RunDirectory.checkpointName)
            text += checkpointStep.map {
                "help: the last checkpoint, \(checkpoint) (step \($0)), is intact; continue with netc train --resume \(runDirectory) (on any number of ranks)\n"
            } ?? "help: no checkpoint was written yet; remove \(runDirectory) and start again\n"
        }
        // The progress line on a terminal has no newline of its own; on standard error, since
        // mpirun forwards the two streams apart and a newline on standard output may come after.
        Self.warn(text, prefix: isatty(STDOUT_FILENO) != 0 ? "\n" : "")
        // mpirun hears of the death within milliseconds too, and ends the job about a second later
        // whatever rank 0 does. Ending at once, rank 0 sometimes (3 runs in 20) ended before mpirun
        // had heard, and mpirun then blamed rank 0's exit status and took 2 s; after a moment's wait
        // it names the dead rank as well (1.1-1.2 s from kill -9 to its exit). Under a launcher that
        // would not end the job, rank 0 ends it itself.
        let deadline = Self.now() + 200
        while Self.now() < deadline { usleep(20_000) }
        _exit(1)
    }

    // MARK: Sockets

    private struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ what: String) { description = "\(what): \(String(cString: strerror(errno)))" }
    }

    /// A TCP socket listening on an ephemeral port of every IPv4 interface, and its port.
    private static func listen() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = INADDR_ANY
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let failed: Failure? = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                if bind(fd, $0, length) != 0 { return Failure("bind") }
                if Glibc.listen(fd, SOMAXCONN) != 0 { return Failure("listen") }
                if getsockname(fd, $0, &length) != 0 { return Failure("getsockname") }
                return nil
            }
        }
        if let failed { close(fd); throw failed }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A connection to `host` (a name or an IPv4 address), or -1 if none within the timeout.
    private static func connect(_ host: String, port: Int, timeoutMs: Int32) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0 else { return -1 }
        defer { freeaddrinfo(list) }
        var entry = list
        while let e = entry {
            entry = e.pointee.ai_next
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { continue }
            // Non-blocking, so that a firewall that drops packets costs the timeout, not minutes.
            var connected = Glibc.connect(fd, e.pointee.ai_addr, e.pointee.ai_addrlen) == 0
            if !connected && errno == EINPROGRESS {
                var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                var error: Int32 = 0, size = socklen_t(MemoryLayout<Int32>.size)
                connected = poll(&ready, 1, timeoutMs) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0
            }
            if connected && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0 { return fd }
            close(fd)
        }
        return -1
    }

    /// This host's IPv4 addresses but loopback, for a rank on another host whose resolver does
    /// not know rank 0's host name.
    private static func interfaceAddresses() -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var addresses: [String] = []
        var entry = list
        while let e = entry {
            entry = e.pointee.ifa_next
            guard let address = e.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
                  e.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0 else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            var ip = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            if inet_ntop(AF_INET, &ip, &text, socklen_t(text.count)) != nil { addresses.append(String(cString: text)) }
        }
        return addresses
    }

    private static func hostName() -> String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
        return String(cString: name)
    }

    /// Milliseconds on a clock that only goes forward.
    private static func now() -> Int { Int(DispatchTime.now().uptimeNanoseconds / 1_000_000) }

    /// One write to standard error (from the watcher too, which must not wait on a buffer's lock).
    private static func warn(_ text: String, prefix: String = "warning: ") {
        let line = prefix + text + (text.hasSuffix("\n") ? "" : "\n")
        _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    }
}
