import Foundation
import Imaging
import Kernels

/// One image to prepare: the item id, its file, its key (relative path, which seeds the views)
/// and how many views (view 0 = eval transform, 1… = seeded training views).
public struct ViewJob: Sendable {
    public var item: UInt32
    public var url: URL
    public var key: String
    /// The views to render, ascending: 0 is the eval transform, 1… augmented views.
    public var views: [Int]

    public init(item: UInt32, url: URL, key: String, views: [Int]) {
        self.item = item
        self.url = url
        self.key = key
        self.views = views
    }
}

/// A prepared job: its views' pixels `[views, 3, R, R]` (normalised Float32), or the one-line
/// error that made the image unusable.
public struct PreparedViews {
    public let job: ViewJob
    public let pixels: Tensor?
    public let error: String?
}

/// Decodes images and renders their views on worker threads while the caller encodes: a bounded,
/// ordered queue. Workers claim jobs in order and stop `capacity` jobs ahead of the consumer, so
/// memory stays bounded; `next()` hands results back in job order (the store writer needs
/// increasing item ids). Dropping the pipeline stops the workers. Used by `Indexer` and
/// `cocoon bench encode`.
public final class DecodePipeline {
    private let queue: OrderedWorkQueue

    /// Starts `threads` workers over `jobs`, at most `capacity` jobs ahead of `next()`.
    public init(jobs: [ViewJob], threads: Int, capacity: Int, prepare: @escaping (ViewJob) -> PreparedViews) {
        queue = OrderedWorkQueue(jobs: jobs, capacity: capacity, prepare: prepare)
        for _ in 0..<max(1, threads) {
            queue.finished.enter()
            let worker = Thread { [queue] in queue.work(); queue.finished.leave() }
            worker.stackSize = 8 << 20
            worker.start()
        }
    }

    deinit { queue.cancel() }

    /// The next result in job order, waiting for it; nil after the last job.
    public func next() -> PreparedViews? { queue.next() }
}

/// The shared state of `DecodePipeline`'s workers and consumer, guarded by one condition variable.
private final class OrderedWorkQueue {
    let jobs: [ViewJob]
    let capacity: Int
    let prepare: (ViewJob) -> PreparedViews
    let condition = NSCondition()
    let finished = DispatchGroup()
    var nextToClaim = 0
    var nextToDeliver = 0
    var ready: [Int: PreparedViews] = [:]
    var cancelled = false

    init(jobs: [ViewJob], capacity: Int, prepare: @escaping (ViewJob) -> PreparedViews) {
        self.jobs = jobs
        self.capacity = max(1, capacity)
        self.prepare = prepare
    }

    func next() -> PreparedViews? {
        condition.lock()
        defer { condition.unlock() }
        guard nextToDeliver < jobs.count else { return nil }
        while ready[nextToDeliver] == nil { condition.wait() }
        let result = ready.removeValue(forKey: nextToDeliver)!
        nextToDeliver += 1
        condition.broadcast()
        return result
    }

    /// Stops the workers after the jobs they are on and waits for them to exit.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }

    func work() {
        while true {
            condition.lock()
            while !cancelled && nextToClaim < jobs.count && nextToClaim - nextToDeliver >= capacity { condition.wait() }
            if cancelled || nextToClaim >= jobs.count {
                condition.unlock()
                return
            }
            let index = nextToClaim
            nextToClaim += 1
            condition.unlock()
            let result = prepare(jobs[index])
            condition.lock()
            ready[index] = result
            condition.broadcast()
            condition.unlock()
        }
    }
}

/// The view renderer every worker runs: decode (JPEG/PNG, Pillow-exact), then view 0 (resize +
/// centre crop) and views 1… (seeded random-resized-crop of area scale (`cropScale`, 1) + flip),
/// normalised, into one tensor.
public struct ViewRenderer: Sendable {
    public let imageSize: Int
    public let normalization: Normalization
    public let seed: UInt64
    /// Lower bound of the augmented views' crop area scale (view 0 ignores it).
    public let cropScale: Double

    public init(imageSize: Int, normalization: Normalization, seed: UInt64,
                cropScale: Double = RandomResizedCrop.defaultScale.lowerBound) {
        self.imageSize = imageSize
        self.normalization = normalization
        self.seed = seed
        self.cropScale = cropScale
    }

    public func render(_ job: ViewJob) -> PreparedViews {
        let image: RGBImage
        do {
            image = try ImageDecoder.decode(file: job.url)
        } catch {
            return PreparedViews(job: job, pixels: nil, error: "\(error)")
        }
        guard image.width > 0, image.height > 0 else {
            return PreparedViews(job: job, pixels: nil, error: "\(job.url.path): image has no pixels (\(image.width)x\(image.height)); re-export or remove the file")
        }
        let R = imageSize, plane = 3 * R * R
        let pixels = Tensor(shape: [job.views.count, 3, R, R])
        for (i, v) in job.views.enumerated() {
            Preprocess.view(image, view: v, seed: seed, itemKey: job.key, size: R, normalization: normalization,
                            cropScale: cropScale...1, into: pixels.data + i * plane)
        }
        return PreparedViews(job: job, pixels: pixels, error: nil)
    }
}
