/// Which published table a reproduced table is set beside.
public enum PublishedTable: String, Codable, Sendable {
    case baseToNewAverage, crossDataset, domainGeneralisation, promptEngineering
}

/// The papers' printed numbers (accuracy %, means over 3 seeds, 16 shots), as data: CoOp = Zhou et
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
    }

    static let dgColumns = ["ImageNet", "ImageNetV2", "ImageNetSketch", "ImageNetA", "ImageNetR"]

    static let tables: [Table] = [
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

    /// The published rows of `table` for `backbone`, laid out on `columns` (blank where the paper
    /// has no such column). An average column is kept only when the table has all the paper's targets.
    public static func rows(_ table: PublishedTable, backbone: String?, columns: [String]) -> [ResultTable.Row] {
        guard let backbone else { return [] }
        let complete = Set(columns).isSuperset(of: tables.filter { $0.table == table }.flatMap { $0.columns.filter { !$0.contains("average") } })
        return tables.filter { $0.table == table && $0.backbone == backbone }.flatMap { t in
            t.rows.map { row in
                ResultTable.Row(label: row.label, values: columns.map { column in
                    guard let i = t.columns.firstIndex(of: column), !column.contains("average") || complete else { return nil }
                    return EntryValue(mean: row.values[i], std: nil, count: 3)
                }, source: t.source)
            }
        }
    }
}
