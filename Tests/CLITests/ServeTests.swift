import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `cocoon-serve` end to end: the built binary on a loopback port over the shared synthetic store,
/// driven with raw HTTP/1.1 requests (exact request targets: no client-side path normalisation).
/// One server serves the whole class; it is terminated in the class tearDown.
final class ServeTests: XCTestCase {
    /// The server and what the tests compare against.
    final class Fixture {
        let process: Process
        let port: UInt16
        let scratch: Scratch
        let world: SyntheticWorld
        let secret: String
        /// The plain-target root built here: item 0 is a symlink to `secret` (outside the root),
        /// item 1 a copy of the real file.
        let trapRoot: URL
        let trapPaths: [String]

        init(process: Process, port: UInt16, scratch: Scratch, world: SyntheticWorld, secret: String, trapRoot: URL, trapPaths: [String]) {
            self.process = process; self.port = port; self.scratch = scratch; self.world = world
            self.secret = secret; self.trapRoot = trapRoot; self.trapPaths = trapPaths
        }

        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }

    nonisolated(unsafe) private static var fixture: Result<Fixture, Error>?
    static let maxUploadMB = 0.05                                   // 52 KB: the 32 px test PNGs are far below

    override class func tearDown() {
        if case .success(let f)? = fixture { f.stop() }
        fixture = nil
        super.tearDown()
    }

    private func server() throws -> Fixture {
        if Self.fixture == nil { Self.fixture = Result { try Self.start() } }
        return try Self.fixture!.get()
    }

    private static func start() throws -> Fixture {
        signal(SIGPIPE, SIG_IGN)
        let binary = Paths.cocoon.deletingLastPathComponent().appendingPathComponent("cocoon-serve")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw XCTSkip("\(binary.path) is missing; build it with `swift build --build-tests` (make test does)")
        }
        let world = try SyntheticWorld.shared(), scratch = try Scratch("serve")
        let prompt = scratch.path("c1.safetensors")
        try SyntheticWorld.run(["tune", "coop"] + world.task + ["--dataset", "colored-shapes", "--shots", "1", "--out", prompt, "--quiet"])
        // A few-shot adapter is served like a prompt (its checkpoint read back through its method).
        let adapter = scratch.path("ca1.safetensors")
        try SyntheticWorld.run(["tune", "clip-adapter"] + world.task + ["--dataset", "colored-shapes", "--shots", "1", "--epochs", "5",
                                                                       "--out", adapter, "--quiet"])

        // A secret outside every root, and a plain-target root whose item 0 is a symlink to it.
        let secret = "TOP-SECRET-\(UUID().uuidString)"
        let secretFile = scratch.url.appendingPathComponent("secret.png")
        try Data(secret.utf8).write(to: secretFile)
        let trapRoot = scratch.url.appendingPathComponent("trap-root")
        var trapPaths: [String] = []
        for item in 0..<2 {
            let get = try runCocoon(["query", "get", world.store, "--model", world.model, "--dataset", "plain-target",
                                     "--split", "test", "--item", "\(item)", "--json"])
            XCTAssertEqual(get.status, 0, get.stderr)
            let path = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(get.stdout.utf8)) as? [String: Any])?["path"] as? String)
            trapPaths.append(path)
            let destination = trapRoot.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            if item == 0 {
                try FileManager.default.createSymbolicLink(at: destination, withDestinationURL: secretFile)
            } else {
                try FileManager.default.copyItem(at: world.target.appendingPathComponent(path), to: destination)
            }
        }

        let arguments = ["--store", world.store, "--model", world.model, "--prompt", prompt, "--prompt", adapter,
                         "--root", "colored-shapes=" + world.data.appendingPathComponent("colored-shapes").path,
                         "--root", "plain-target=" + trapRoot.path, "--max-upload-mb", "\(maxUploadMB)", "--threads", "1"]
        var lastLog = ""
        for attempt in 0..<6 {
            let port = UInt16.random(in: 20000...40000)
            let log = scratch.url.appendingPathComponent("server-\(attempt).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let process = Process()
            process.executableURL = binary
            process.arguments = arguments + ["--port", "\(port)"]
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            // Ready when /api/stats answers; a process that exits first (port taken) is retried.
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline && process.isRunning {
                if let r = try? HTTP.request(port: port, "GET /api/stats"), r.status == 200 {
                    return Fixture(process: process, port: port, scratch: scratch, world: world, secret: secret,
                                   trapRoot: trapRoot, trapPaths: trapPaths)
                }
                usleep(100_000)
            }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            lastLog = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        }
        throw WorldError("cocoon-serve did not start: \(lastLog)")
    }

    // MARK: tests

    func testStatsAndPage() throws {
        let f = try server()
        let stats = try HTTP.json(port: f.port, "GET /api/stats")
        XCTAssertEqual(stats.status, 200)
        let datasets = try XCTUnwrap(stats.object["datasets"] as? [String])
        for name in ["colored-shapes", "shapes", "plain-shapes", "plain-target"] { XCTAssertTrue(datasets.contains(name), "\(datasets)") }
        XCTAssertGreaterThan(stats.object["items"] as? Int ?? 0, 0)
        XCTAssertGreaterThan(stats.object["features"] as? Int ?? 0, 0)
        XCTAssertNotNil(stats.object["failures"] as? Int)
        XCTAssertFalse((stats.object["models"] as? [String] ?? []).isEmpty)
        XCTAssertFalse((stats.object["groups"] as? [[String: Any]] ?? []).isEmpty)

        let page = try HTTP.request(port: f.port, "GET /")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.headers["content-type"]?.hasPrefix("text/html") ?? false)
        let html = String(decoding: page.body, as: UTF8.self)
        for id in ["search-input", "search-button", "results", "upload-input", "predictions", "stats", "accuracy-table"] {
            XCTAssertTrue(html.contains("id=\"\(id)\""), "page lacks #\(id)")
        }
        XCTAssertFalse(html.contains("src=\"http"), "the page loads no external assets")
    }

    func testSearchReturnsSortedResultsWithThumbnails() throws {
        let f = try server()
        let r = try HTTP.json(port: f.port, "GET /api/search?dataset=colored-shapes&split=test&q=a%20photo%20of%20a%20red%20circle&top=7")
        XCTAssertEqual(r.status, 200, "\(r.object)")
        let results = try XCTUnwrap(r.object["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 7)
        let scores = results.map { $0["score"] as! Double }
        XCTAssertEqual(scores, scores.sorted(by: >))
        let root = f.world.data.appendingPathComponent("colored-shapes")
        for row in results.prefix(3) {
            let thumb = try XCTUnwrap(row["thumb"] as? String)
            XCTAssertEqual(thumb, "/thumb/colored-shapes/test/\(row["item"] as! Int)")
            let image = try HTTP.request(port: f.port, "GET " + thumb)
            XCTAssertEqual(image.status, 200)
            XCTAssertEqual(image.headers["content-type"], "image/png")
            XCTAssertEqual(image.body, try Data(contentsOf: root.appendingPathComponent(row["path"] as! String)))
            XCTAssertFalse((row["classname"] as? String ?? "").isEmpty)
        }
        // No --root: no thumbnails.
        let noRoot = try HTTP.json(port: f.port, "GET /api/search?dataset=shapes&q=circle&top=2")
        XCTAssertEqual(noRoot.status, 200)
        XCTAssertEqual((noRoot.object["results"] as? [[String: Any]])?.count, 2)
        XCTAssertNil((noRoot.object["results"] as? [[String: Any]])?.first?["thumb"])
        // Malformed searches are 4xx JSON.
        for (target, status) in [("/api/search?dataset=colored-shapes", 400), ("/api/search?q=x", 400),
                                 ("/api/search?dataset=colored-shapes&q=x&top=zero", 400),
                                 ("/api/search?dataset=colored-shapes&q=x&top=-3", 400),
                                 ("/api/search?dataset=colored-shapes&q=x&split=nope", 400),
                                 ("/api/search?dataset=no-such-set&q=x", 404)] {
            let bad = try HTTP.json(port: f.port, "GET " + target)
            XCTAssertEqual(bad.status, status, target)
            XCTAssertNotNil(bad.object["error"] as? String, target)
        }
    }

    func testThumbnailsNeverLeaveTheRoot() throws {
        let f = try server()
        let attacks = [
            "/thumb/colored-shapes/test/..%2F..%2F..%2Fsecret.png",
            "/thumb/colored-shapes/test/%2F..%2F..%2Fetc%2Fpasswd",
            "/thumb/colored-shapes/test/../../../../etc/passwd",
            "/thumb/colored-shapes/../../../etc/passwd",
            "/thumb/..%2F..%2Fetc/test/0",
            "/thumb/colored-shapes/test/999999",
            "/thumb/colored-shapes/test/4294967296",
            "/thumb/colored-shapes/test/-1",
            "/thumb/colored-shapes/test/0/extra",
            "/thumb/colored-shapes/nope/0",
            "/thumb/shapes/test/0",                                     // no --root for shapes
            "/thumb/plain-target/test/0",                               // a symlink inside the root pointing outside
            "/thumb/plain-target/test/2",                               // not in the trap root
        ]
        for target in attacks {
            let r = try HTTP.request(port: f.port, "GET " + target)
            XCTAssertEqual(r.status, 404, target)
            let text = String(decoding: r.body, as: UTF8.self)
            XCTAssertFalse(text.contains(f.secret), target)
            XCTAssertFalse(text.contains("root:"), target)
            XCTAssertNotNil((try? JSONSerialization.jsonObject(with: r.body)) as? [String: Any], "\(target): \(text)")
        }
        // The real file beside the symlink is served.
        let ok = try HTTP.request(port: f.port, "GET /thumb/plain-target/test/1")
        XCTAssertEqual(ok.status, 200)
        XCTAssertEqual(ok.body, try Data(contentsOf: f.trapRoot.appendingPathComponent(f.trapPaths[1])))
    }

    func testClassifyUploads() throws {
        let f = try server()
        let image = try Data(contentsOf: f.world.data.appendingPathComponent("colored-shapes/test/00_000.png"))
        let r = try HTTP.json(port: f.port, "POST /api/classify?dataset=colored-shapes", body: image)
        XCTAssertEqual(r.status, 200, "\(r.object)")
        let classifiers = try XCTUnwrap(r.object["classifiers"] as? [[String: Any]])
        XCTAssertEqual(classifiers.map { $0["name"] as? String }, ["zero-shot", "c1", "ca1"], "uploads are classified by every prompt and adapter served")
        for c in classifiers {
            let top = try XCTUnwrap(c["top"] as? [[String: Any]])
            XCTAssertEqual(top.count, 5)
            let p = top.map { $0["probability"] as! Double }
            XCTAssertEqual(p, p.sorted(by: >))
            XCTAssertLessThanOrEqual(p.reduce(0, +), 1 + 1e-9)
            XCTAssertTrue(p.allSatisfy { $0 >= 0 })
        }
        // Over the limit: 413; not an image: 400; empty: 400; all JSON.
        let big = try HTTP.json(port: f.port, "POST /api/classify?dataset=colored-shapes",
                                body: Data(count: Int(Self.maxUploadMB * 1024 * 1024) + 4096))
        XCTAssertEqual(big.status, 413)
        XCTAssertNotNil(big.object["error"] as? String)
        let garbage = try HTTP.json(port: f.port, "POST /api/classify?dataset=colored-shapes", body: Data("not an image at all".utf8))
        XCTAssertEqual(garbage.status, 400)
        XCTAssertNotNil(garbage.object["error"] as? String)
        let truncated = try HTTP.json(port: f.port, "POST /api/classify?dataset=colored-shapes", body: image.prefix(image.count / 2))
        XCTAssertEqual(truncated.status, 400)
        let empty = try HTTP.json(port: f.port, "POST /api/classify?dataset=colored-shapes", body: Data())
        XCTAssertEqual(empty.status, 400)
        let wrongMethod = try HTTP.json(port: f.port, "GET /api/classify")
        XCTAssertEqual(wrongMethod.status, 405)
    }

    func testAccuracyComparesThePromptWithZeroShot() throws {
        let f = try server()
        let r = try HTTP.json(port: f.port, "GET /api/accuracy?prompt=c1&dataset=colored-shapes")
        XCTAssertEqual(r.status, 200, "\(r.object)")
        let classes = try XCTUnwrap(r.object["classes"] as? [[String: Any]])
        XCTAssertFalse(classes.isEmpty)
        XCTAssertEqual(classes.reduce(0) { $0 + ($1["count"] as! Int) }, r.object["count"] as? Int)
        for c in classes {
            for key in ["prompt", "zeroshot"] { XCTAssertTrue((0...100).contains(c[key] as! Double)) }
        }
        let changes = try XCTUnwrap(r.object["confusion_changes"] as? [[String: Any]])
        XCTAssertLessThanOrEqual(changes.count, 10)
        let magnitudes = changes.map { abs($0["change"] as! Int) }
        XCTAssertEqual(magnitudes, magnitudes.sorted(by: >))
        let adapter = try HTTP.json(port: f.port, "GET /api/accuracy?prompt=ca1&dataset=colored-shapes")
        XCTAssertEqual(adapter.status, 200, "\(adapter.object)")
        XCTAssertEqual(adapter.object["count"] as? Int, r.object["count"] as? Int, "the CLIP-Adapter checkpoint scores the same test split")
        XCTAssertEqual(try HTTP.json(port: f.port, "GET /api/accuracy?prompt=nope").status, 404)
        XCTAssertEqual(try HTTP.json(port: f.port, "GET /api/accuracy").status, 400)
    }

    func testMalformedRequestsAndUnknownPaths() throws {
        let f = try server()
        let unknown = try HTTP.json(port: f.port, "GET /nothing/here")
        XCTAssertEqual(unknown.status, 404)
        XCTAssertNotNil(unknown.object["error"] as? String)
        // Garbage on the wire, then the server still answers.
        _ = try? HTTP.raw(port: f.port, Data("NOT HTTP AT ALL\r\n\r\n".utf8))
        _ = try? HTTP.raw(port: f.port, Data("GET /api/stats HTTP/1.1\r\nContent-Length: banana\r\n\r\n".utf8))
        _ = try? HTTP.raw(port: f.port, Data([0, 1, 2, 255, 13, 10, 13, 10]))
        XCTAssertEqual(try HTTP.request(port: f.port, "GET /api/stats").status, 200)
        XCTAssertTrue(f.process.isRunning)
    }

    func testConcurrentSearches() throws {
        let f = try server()
        let words = ["red", "green", "blue", "circle", "square", "triangle", "star", "small", "large", "shape"]
        let statuses = Statuses(count: 20)
        DispatchQueue.concurrentPerform(iterations: 20) { i in
            let q = "a photo of a \(words[i % words.count]) \(i)".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let r = try? HTTP.json(port: f.port, "GET /api/search?dataset=colored-shapes&q=\(q)&top=5")
            statuses.set(i, r.map { $0.status == 200 && ($0.object["results"] as? [[String: Any]])?.count == 5 } ?? false)
        }
        XCTAssertEqual(statuses.values, [Bool](repeating: true, count: 20))
    }
}

final class Statuses: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Bool]
    init(count: Int) { storage = [Bool](repeating: false, count: count) }
    func set(_ i: Int, _ value: Bool) { lock.withLock { storage[i] = value } }
    var values: [Bool] { lock.withLock { storage } }
}

/// A minimal HTTP/1.1 client over a blocking loopback socket: the request target goes on the
/// wire exactly as given.
enum HTTP {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: Data
    }

    /// `line` is "METHOD TARGET".
    static func request(port: UInt16, _ line: String, body: Data? = nil) throws -> Response {
        var head = "\(line) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let body { head += "Content-Length: \(body.count)\r\nContent-Type: application/octet-stream\r\n" }
        var bytes = Data((head + "\r\n").utf8)
        if let body { bytes.append(body) }
        return try parse(raw(port: port, bytes))
    }

    static func json(port: UInt16, _ line: String, body: Data? = nil) throws -> (status: Int, object: [String: Any]) {
        let r = try request(port: port, line, body: body)
        guard let object = try JSONSerialization.jsonObject(with: r.body) as? [String: Any] else {
            throw WorldError("\(line): not a JSON object: \(String(decoding: r.body, as: UTF8.self))")
        }
        XCTAssertEqual(r.headers["content-type"], "application/json", line)
        return (r.status, object)
    }

    /// Sends `bytes`, reads until the server closes (or 60 s pass without data).
    static func raw(port: UInt16, _ bytes: Data) throws -> Data {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw WorldError("socket: \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw WorldError("connect to port \(port): errno \(errno)") }
        var sent = 0
        try bytes.withUnsafeBytes { (p: UnsafeRawBufferPointer) in
            while sent < p.count {
                let n = send(fd, p.baseAddress! + sent, p.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { break }                 // the server may answer (413) and close before reading it all
                sent += n
            }
            if sent == 0 && p.count > 0 { throw WorldError("send: errno \(errno)") }
        }
        var out = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
            if let r = try? parse(out), let length = r.headers["content-length"].flatMap(Int.init), r.body.count >= length { break }
        }
        return out
    }

    static func parse(_ data: Data) throws -> Response {
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else { throw WorldError("no HTTP response header in \(data.count) bytes") }
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw WorldError("bad status line \(head[0])") }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Response(status: status, headers: headers, body: Data(data[end.upperBound...]))
    }
}
