/// Which published table a reproduced table is set beside.
public enum PublishedTable: String, Codable, Sendable {
    case baseToNewAverage, crossDataset, domainGeneralisation, promptEngineering
    /// Few-shot accuracy by shot count, per dataset (`TableSpec.publishedDataset`) or the mean of 11.
    case fewShot
}

/// The papers' printed numbers (accuracy %, means over 3 seeds, 16 shots, unless a table says
/// otherwise), as data: CoOp = Zhou et
/// al., "Learning to Prompt for Vision-Language Models", IJCV 2022; CoCoOp = Zhou et al.,
/// "Conditional Prompt Learning for Vision-Language Models", CVPR 2022. Row labels and columns are
/// spelled as `cocoon reproduce`'s tables spell them, so a row is shown under the measured one.
/// The reports read them through `rows(_:backbone:columns:)`; nothing else uses them.
public enum PublishedResults {
    struct Table {
        let table: PublishedTable
        let backbone: String
        let source: String
        let columns: [String]
        let rows: [(label: String, values: [Double])]
        /// The dataset of a per-dataset table (few-shot; "average" for the mean of 11), nil otherwise.
        var dataset: String? = nil
        /// Seeds behind each number (3 in the papers; 1 in Tip-Adapter's log).
        var seeds = 3
    }

    static let shotColumns = ["1", "2", "4", "8", "16"]

    /// Tip-Adapter's `exp.log` (gaopengcuhk/Tip-Adapter, RN50, seed 1 only): per dataset the
    /// unlabelled zero-shot number, then Tip-Adapter, Tip-Adapter-F (its best **test** epoch: test-selected)
    /// and the Tip-Adapter authors' CLIP-Adapter re-run at 1/2/4/8/16 shots.
    static let tipAdapterLog: [(dataset: String, zeroShot: Double, tip: [Double], tipF: [Double], clipAdapter: [Double])] = [
        ("ImageNet", 60.32, [60.70, 60.96, 60.98, 61.45, 62.01], [61.13, 61.69, 62.52, 64.00, 65.51], [61.20, 61.52, 61.84, 62.68, 63.59]),
        ("Caltech101", 85.92, [87.18, 88.44, 89.39, 89.83, 90.18], [89.33, 89.74, 90.56, 91.44, 92.86], [88.60, 89.37, 89.98, 91.40, 92.49]),
        ("OxfordPets", 85.83, [86.10, 87.03, 86.45, 87.03, 88.14], [87.00, 87.03, 87.54, 88.09, 89.70], [85.99, 86.73, 87.46, 87.65, 87.84]),
        ("StanfordCars", 55.74, [57.54, 57.93, 61.45, 62.93, 66.77], [58.86, 61.50, 64.57, 69.25, 75.74], [55.13, 58.74, 62.45, 67.89, 74.01]),
        ("OxfordFlowers", 66.02, [73.12, 79.13, 83.80, 87.98, 89.89], [79.98, 82.30, 88.83, 91.51, 94.80], [73.49, 81.61, 87.17, 91.72, 93.90]),
        ("Food101", 77.32, [77.42, 77.52, 77.54, 77.76, 77.83], [77.51, 77.81, 78.24, 78.64, 79.43], [76.82, 77.22, 77.92, 78.04, 78.25]),
        ("FGVCAircraft", 17.10, [19.05, 21.21, 22.41, 25.59, 29.76], [20.22, 23.19, 25.80, 30.21, 35.55], [17.49, 20.10, 22.59, 26.25, 32.10]),
        ("SUN397", 58.52, [61.30, 62.70, 64.15, 65.62, 66.85], [62.50, 63.64, 66.21, 68.87, 71.47], [61.30, 63.29, 65.96, 67.50, 69.55]),
        ("DescribableTextures", 42.20, [46.22, 49.47, 53.96, 58.63, 60.93], [49.65, 53.72, 57.39, 62.71, 66.55], [45.80, 51.48, 56.86, 61.00, 65.96]),
        ("EuroSAT", 37.52, [54.38, 61.68, 65.32, 67.95, 70.54], [59.53, 66.15, 74.12, 77.93, 84.54], [61.40, 63.90, 73.38, 77.93, 84.43]),
        ("UCF101", 61.35, [62.60, 64.74, 66.46, 68.68, 70.58], [64.87, 66.43, 70.55, 74.25, 78.03], [62.20, 67.12, 69.05, 73.30, 76.76]),
    ]

    /// The log's rows as few-shot tables: per dataset, and the mean of the 11 ("average").
    static let fewShotTables: [Table] = {
        let log = tipAdapterLog
        func mean(_ pick: (Int) -> Double) -> Double { (0..<log.count).map(pick).reduce(0, +) / Double(log.count) }
        let average = (dataset: "average", zeroShot: mean { log[$0].zeroShot },
                       tip: (0..<5).map { c in mean { log[$0].tip[c] } }, tipF: (0..<5).map { c in mean { log[$0].tipF[c] } },
                       clipAdapter: (0..<5).map { c in mean { log[$0].clipAdapter[c] } })
        return (log + [average]).flatMap { d -> [Table] in [
            Table(table: .fewShot, backbone: "RN50", source: "Tip-Adapter exp.log, single seed", columns: shotColumns,
                  rows: [("zero-shot CLIP", [Double](repeating: d.zeroShot, count: 5)), ("Tip-Adapter", d.tip), ("CLIP-Adapter", d.clipAdapter)],
                  dataset: d.dataset, seeds: 1),
            Table(table: .fewShot, backbone: "RN50", source: "Tip-Adapter exp.log, single seed, test-selected", columns: shotColumns,
                  rows: [("Tip-Adapter-F", d.tipF)], dataset: d.dataset, seeds: 1),
        ] }
    }()

    static let dgColumns = ["ImageNet", "ImageNetV2", "ImageNetSketch", "ImageNetA", "ImageNetR"]

    static let tables: [Table] = fewShotTables + [
        // CoOp Table 1: domain generalisation, source ImageNet.
        Table(table: .domainGeneralisation, backbone: "RN50", source: "CoOp Table 1", columns: dgColumns, rows: [
            ("zero-shot CLIP", [58.18, 51.34, 33.32, 21.65, 56.00]), ("linear probe", [55.87, 45.97, 19.07, 12.74, 34.86]),
            ("CoOp M=16", [62.95, 55.11, 32.74, 22.12, 54.96]), ("CoOp M=4", [63.33, 55.40, 34.67, 23.06, 56.60])]),
        Table(table: .domainGeneralisation, backbone: "RN101", source: "CoOp Table 1", columns: dgColumns, rows: [
            ("zero-shot CLIP", [61.62, 54.81, 38.71, 28.05, 64.38]), ("linear probe", [59.75, 50.05, 26.80, 19.44, 47.19]),
            ("CoOp M=16", [66.60, 58.66, 39.08, 28.89, 63.00]), ("CoOp M=4", [65.98, 58.60, 40.40, 29.60, 64.98])]),
        Table(table: .domainGeneralisation, backbone: "ViT-B/32", source: "CoOp Table 1", columns: dgColumns, rows: [
            ("zero-shot CLIP", [62.05, 54.79, 40.82, 29.57, 65.99]), ("linear probe", [59.58, 49.73, 28.06, 19.67, 47.20]),
            ("CoOp M=16", [66.85, 58.08, 40.44, 30.62, 64.45]), ("CoOp M=4", [66.34, 58.24, 41.48, 31.34, 65.78])]),
        Table(table: .domainGeneralisation, backbone: "ViT-B/16", source: "CoOp Table 1", columns: dgColumns, rows: [
            ("zero-shot CLIP", [66.73, 60.83, 46.15, 47.77, 73.96]), ("linear probe", [65.85, 56.26, 34.77, 35.68, 58.43]),
            ("CoOp M=16", [71.92, 64.18, 46.71, 48.41, 74.32]), ("CoOp M=4", [71.73, 64.56, 47.89, 49.93, 75.14])]),
        // CoCoOp Table 3: domain generalisation, ViT-B/16 (its CoOp is M = 4 from "a photo of a").
        Table(table: .domainGeneralisation, backbone: "ViT-B/16", source: "CoCoOp Table 3", columns: dgColumns, rows: [
            ("CoCoOp", [71.02, 64.07, 48.75, 50.63, 76.18])]),
        // CoOp Table 2: prompt engineering vs ensembling on ImageNet.
        Table(table: .promptEngineering, backbone: "RN50", source: "CoOp Table 2", columns: ["hand-crafted prompt", "prompt ensembling"],
              rows: [("ImageNet", [58.18, 60.41])]),
        Table(table: .promptEngineering, backbone: "RN101", source: "CoOp Table 2", columns: ["hand-crafted prompt", "prompt ensembling"],
              rows: [("ImageNet", [61.26, 62.54])]),
        Table(table: .promptEngineering, backbone: "ViT-B/32", source: "CoOp Table 2", columns: ["hand-crafted prompt", "prompt ensembling"],
              rows: [("ImageNet", [62.05, 63.71])]),
        Table(table: .promptEngineering, backbone: "ViT-B/16", source: "CoOp Table 2", columns: ["hand-crafted prompt", "prompt ensembling"],
              rows: [("ImageNet", [66.73, 68.74])]),
        // CoCoOp Table 1(a): base-to-new, average over the 11 datasets, ViT-B/16.
        Table(table: .baseToNewAverage, backbone: "ViT-B/16", source: "CoCoOp Table 1(a), 11 datasets", columns: ["base", "new", "H"], rows: [
            ("zero-shot CLIP", [69.34, 74.22, 71.70]), ("CoOp", [82.69, 63.22, 71.66]), ("CoCoOp", [80.47, 71.69, 75.83])]),
        // KgCoOp's README (htyao89/KgCoOp): base-to-new averages over the 11 datasets, ViT-B/16. Its
        // zero-shot and CoCoOp rows are CoCoOp Table 1(a)'s; its CoOp row is another run than CoCoOp's.
        Table(table: .baseToNewAverage, backbone: "ViT-B/16", source: "KgCoOp README, 11 datasets", columns: ["base", "new", "H"], rows: [
            ("CoOp", [82.63, 67.99, 74.60]), ("ProGrad", [82.48, 70.75, 76.16]), ("KgCoOp", [80.73, 73.6, 77.0])]),
        // CoCoOp Table 2: cross-dataset transfer from ImageNet, ViT-B/16 ("target average" over the 10 targets).
        Table(table: .crossDataset, backbone: "ViT-B/16", source: "CoCoOp Table 2",
              columns: ["ImageNet", "Caltech101", "OxfordPets", "StanfordCars", "OxfordFlowers", "Food101", "FGVCAircraft", "SUN397",
                        "DescribableTextures", "EuroSAT", "UCF101", "target average"], rows: [
            ("CoOp", [71.51, 93.70, 89.14, 64.51, 68.71, 85.30, 18.47, 64.15, 41.92, 46.39, 66.55, 63.88]),
            ("CoCoOp", [71.02, 94.43, 90.14, 65.32, 71.88, 86.06, 22.94, 67.36, 45.73, 45.37, 68.21, 65.74])]),
    ]

    /// The published rows of `table` for `backbone` (and `dataset`, for per-dataset tables), laid
    /// out on `columns` (blank where the paper has no such column). An average column is kept only
    /// when the table has all the paper's targets.
    public static func rows(_ table: PublishedTable, backbone: String?, columns: [String], dataset: String? = nil) -> [ResultTable.Row] {
        guard let backbone else { return [] }
        let complete = Set(columns).isSuperset(of: tables.filter { $0.table == table }.flatMap { $0.columns.filter { !$0.contains("average") } })
        return tables.filter { $0.table == table && $0.backbone == backbone && $0.dataset == dataset }.flatMap { t in
            t.rows.map { row in
                ResultTable.Row(label: row.label, values: columns.map { column in
                    guard let i = t.columns.firstIndex(of: column), !column.contains("average") || complete else { return nil }
                    return EntryValue(mean: row.values[i], std: nil, count: t.seeds)
                }, source: t.source)
            }
        }
    }
}
