import DatasetNames
import FeatureCache
import Foundation

/// What `SourceFileCheck.run` found: files checked and one line per file that is missing or whose
/// size or SHA-256 differs from its item record.
public struct SourceFileReport {
    public var checked = 0
    public var problems: [String] = []
    public var ok: Bool { problems.isEmpty }
}

/// `cocoon store verify --files --root DIR`: re-hashes the source image of every item record and
/// compares size and SHA-256 with what was indexed, so edited or lost images are found.
public enum SourceFileCheck {
    /// Checks the items of every stored dataset (or only those named `datasetName`); item paths are
    /// resolved against `root`, the folder they are relative to (the dataset's image folder).
    public static func run(store: FeatureStore, root: URL, datasetName: String? = nil) throws -> SourceFileReport {
        var report = SourceFileReport()
        var datasets = try store.datasets()
        if let datasetName {
            datasets = [try store.dataset(named: datasetName)]
        }
        for (ds, record) in datasets {
            for split in Split.allCases {
                for (i, item) in try store.items(ds: ds, split: split).enumerated() {
                    report.checked += 1
                    let url = root.appendingPathComponent(item.relativePath)
                    let where_ = "\(record.name) \(split) item \(i) \(url.path)"
                    guard let file = FileFingerprint(url: url) else {
                        report.problems.append("\(where_): missing or unreadable; restore the file or re-index the dataset")
                        continue
                    }
                    if file.size != item.fileSize {
                        report.problems.append("\(where_): \(file.size) bytes, indexed with \(item.fileSize); restore the file or re-index the dataset")
                    } else if let sha = item.sha256, sha != file.sha256 {
                        report.problems.append("\(where_): content changed (SHA-256 differs); restore the file or re-index the dataset")
                    }
                }
            }
        }
        return report
    }
}
