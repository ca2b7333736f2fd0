import Foundation

/// One image to draw: its path under `$DATA`, its class (nil: any shape and colour) and the stream
/// ("<dataset>/<split>", index in that split) its scene is drawn from.
struct LayoutImage {
    let path: String
    let cls: DemoClass?
    let stream: String
    let index: Int
}

/// Everything one dataset writes: its images and its text files (split JSON, lists), paths under `$DATA`.
struct LayoutPlan {
    var info: CoOpLayoutDataset
    var images: [LayoutImage]
    var texts: [(path: String, text: String)]
}

/// One labelled image of a split: the `k`-th (0-based) of class `label` in `split`; `m` numbers it
/// within its class over train, val, test (1-based), `n` within the dataset in the same order
/// (1-based), `i` within its split (0-based, the stream index).
struct Slot {
    let split: String, label: Int, cls: DemoClass, k: Int, m: Int, n: Int, i: Int
}

/// An item as the dataset's split lists it: path relative to the image dir, label and raw class name.
struct LayoutItem {
    let slot: Slot
    let path: String
    let classname: String
}

/// The per-dataset layouts, each mirroring its reader in `Sources/Datasets` (the reader is the spec).
/// `$DATA`-relative shapes are in each function's comment; K = classes, t/v/e = images per class.
extension CoOpLayoutWorld {
    static let splits = ["train", "val", "test"]

    func plan(_ name: String) -> LayoutPlan {
        switch name {
        case "ImageNet": return imageNet()
        case "ImageNetV2", "ImageNetSketch", "ImageNetA", "ImageNetR": return imageNetVariant(name)
        case "Caltech101": return caltech101()
        case "OxfordPets": return oxfordPets()
        case "StanfordCars": return stanfordCars()
        case "OxfordFlowers": return oxfordFlowers()
        case "Food101": return food101()
        case "FGVCAircraft": return fgvcAircraft()
        case "SUN397": return sun397()
        case "DescribableTextures": return describableTextures()
        case "EuroSAT": return euroSAT()
        case "UCF101": return ucf101()
        default: preconditionFailure("not a CoOp layout: \(name)")
        }
    }

    // MARK: - Classes and slots

    /// `classesPerDataset` of the 64 colour×shape classes, in an order drawn from the dataset's own stream.
    func drawnClasses(_ name: String) -> [DemoClass] {
        var random = ShapeRandom(seed: seed, stream: Self.tag("\(name)/classes"), index: 0)
        return Array(Self.shuffled(DemoDataset.colorShapeClasses, &random).prefix(classesPerDataset))
    }

    /// Fisher–Yates with `ShapeRandom`.
    static func shuffled<T>(_ items: [T], _ random: inout ShapeRandom) -> [T] {
        var items = items
        for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, random.below(i + 1)) }
        return items
    }

    func count(_ split: String) -> Int {
        split == "train" ? perClass.train : (split == "val" ? perClass.val : perClass.test)
    }

    /// Slots of `splits`, split by split, class by class (label = index in `classes`).
    func slots(_ classes: [DemoClass], _ splits: [String] = splits) -> [Slot] {
        var slots: [Slot] = []
        for split in splits {
            let offset = Self.splits.prefix(while: { $0 != split }).map(count).reduce(0, +)
            var i = 0
            for (label, cls) in classes.enumerated() {
                for k in 0..<count(split) {
                    slots.append(Slot(split: split, label: label, cls: cls, k: k, m: offset + k + 1, n: slots.count + 1, i: i))
                    i += 1
                }
            }
        }
        return slots
    }

    /// Drawn classes sorted by their folder name (`folder(cls)`): the label order of readers that sort folders.
    func sortedByFolder(_ name: String, _ folder: (DemoClass) -> String) -> [DemoClass] {
        drawnClasses(name).sorted { folder($0).unicodeScalars.lexicographicallyPrecedes(folder($1).unicodeScalars) }
    }

    /// The plan of a dataset whose items live under `<folder>/<imageDir>/`; writes `split_zhou_<name>.json`
    /// when `splitJSON`. `counts` overrides the item counts (ImageNet, test-only variants).
    func layoutPlan(_ name: String, folder: String, imageDir: String, classes: [DemoClass], items: [LayoutItem],
                    texts: [(path: String, text: String)] = [], splitJSON: Bool = true,
                    counts: (train: Int, val: Int, test: Int)? = nil) -> LayoutPlan {
        var classnames = [String](repeating: "", count: classes.count)
        for item in items { classnames[item.slot.label] = item.classname }
        let base = imageDir.isEmpty ? folder : "\(folder)/\(imageDir)"
        let images = items.map { LayoutImage(path: "\(base)/\($0.path)", cls: $0.slot.cls, stream: "\(name)/\($0.slot.split)", index: $0.slot.i) }
        var texts = texts
        if splitJSON { texts.append(("\(folder)/split_zhou_\(name).json", Self.splitJSON(items))) }
        let n = Self.splits.map { split in items.filter { $0.slot.split == split }.count }
        let info = CoOpLayoutDataset(name: name, folder: folder, style: Self.style(of: name), classes: classes,
                                     classnames: classnames, counts: counts ?? (n[0], n[1], n[2]))
        return LayoutPlan(info: info, images: images, texts: texts)
    }

    // MARK: - ImageNet and its variants

    /// wnid of ImageNet label i: "n00000001", "n00000002", … (sorted wnids = the drawn order).
    static func wnid(_ label: Int) -> String { "n" + SynthFiles.zeroPadded(label + 1, 8) }

    /// `imagenet/classnames.txt` ("n00000001 red circle"), `imagenet/images/train/<wnid>/<wnid>_0001.JPEG`
    /// (K·t) and `imagenet/images/val/<wnid>/ILSVRC2012_val_00000001.JPEG` (K·e; the reader's val and test).
    func imageNet() -> LayoutPlan {
        let classes = drawnClasses("ImageNet")
        let items = slots(classes, ["train", "test"]).map { s -> LayoutItem in
            let w = Self.wnid(s.label)
            let path = s.split == "train" ? "train/\(w)/\(w)_\(SynthFiles.zeroPadded(s.k + 1, 4)).JPEG"
                : "val/\(w)/ILSVRC2012_val_\(SynthFiles.zeroPadded(s.i + 1, 8)).JPEG"
            return LayoutItem(slot: s, path: path, classname: s.cls.name)
        }
        let test = classes.count * perClass.test
        return layoutPlan("ImageNet", folder: "imagenet", imageDir: "images", classes: classes, items: items,
                          texts: [("imagenet/classnames.txt", imageNetClassnames())], splitJSON: false,
                          counts: (classes.count * perClass.train, test, test))
    }

    /// ImageNet's `classnames.txt`, which CoOp copies into every variant's folder.
    func imageNetClassnames() -> String {
        Self.lines(drawnClasses("ImageNet").enumerated().map { "\(Self.wnid($0.offset)) \($0.element.name)" })
    }

    /// Test-only variants (K'·e images, `<folder>/classnames.txt` = ImageNet's):
    /// - ImageNetV2: `imagenetv2/imagenetv2-matched-frequency-format-val/<label>/0001.jpeg`, folders 0..K-1
    ///   in classnames.txt order (ImageNet's style, other image streams);
    /// - ImageNetSketch: `imagenet-sketch/images/<wnid>/sketch_0001.JPEG`, all K classes, two-tone;
    /// - ImageNetA: `imagenet-adversarial/imagenet-a/<wnid>/0001.jpg`, half the classes (sorted wnids), plain;
    /// - ImageNetR: `imagenet-rendition/imagenet-r/<wnid>/art_0001.jpg`, another half, dark.
    func imageNetVariant(_ name: String) -> LayoutPlan {
        let all = drawnClasses("ImageNet")
        var labels = Array(all.indices)   // ImageNet labels of the variant's classes, sorted = its label order
        if name == "ImageNetA" || name == "ImageNetR" {
            var random = ShapeRandom(seed: seed, stream: Self.tag("\(name)/classes"), index: 0)
            labels = Self.shuffled(labels, &random).prefix(max(1, all.count / 2)).sorted()
        }
        let (folder, imageDir): (String, String) = [
            "ImageNetV2": ("imagenetv2", "imagenetv2-matched-frequency-format-val"),
            "ImageNetSketch": ("imagenet-sketch", "images"),
            "ImageNetA": ("imagenet-adversarial", "imagenet-a"),
            "ImageNetR": ("imagenet-rendition", "imagenet-r"),
        ][name]!
        let classes = labels.map { all[$0] }
        let items = slots(classes, ["test"]).map { s -> LayoutItem in
            let number = SynthFiles.zeroPadded(s.k + 1, 4)
            let w = Self.wnid(labels[s.label])
            let path = [
                "ImageNetV2": "\(s.label)/\(number).jpeg", "ImageNetSketch": "\(w)/sketch_\(number).JPEG",
                "ImageNetA": "\(w)/\(number).jpg", "ImageNetR": "\(w)/art_\(number).jpg",
            ][name]!
            return LayoutItem(slot: s, path: path, classname: s.cls.name)
        }
        let test = items.count
        return layoutPlan(name, folder: folder, imageDir: imageDir, classes: classes, items: items,
                          texts: [("\(folder)/classnames.txt", imageNetClassnames())], splitJSON: false,
                          counts: (test, 0, test))
    }

    // MARK: - Datasets read from split_zhou_<Name>.json

    /// `caltech-101/101_ObjectCategories/red_circle/image_0001.jpg` (sorted folders = labels, class =
    /// folder name), plus `BACKGROUND_Google/image_0001.jpg`…`0002` (any shape; the reader ignores it).
    func caltech101() -> LayoutPlan {
        let folder = { (c: DemoClass) in Self.underscored(c.name) }
        let classes = sortedByFolder("Caltech101", folder)
        let items = slots(classes).map { LayoutItem(slot: $0, path: "\(folder($0.cls))/image_\(SynthFiles.zeroPadded($0.m, 4)).jpg", classname: folder($0.cls)) }
        var plan = layoutPlan("Caltech101", folder: "caltech-101", imageDir: "101_ObjectCategories", classes: classes, items: items)
        plan.images += (0..<2).map {
            LayoutImage(path: "caltech-101/101_ObjectCategories/BACKGROUND_Google/image_\(SynthFiles.zeroPadded($0 + 1, 4)).jpg",
                        cls: nil, stream: "Caltech101/background", index: $0)
        }
        return plan
    }

    /// `oxford_pets/images/<Breed>_<m>.jpg` and `annotations/{trainval,test}.txt` ("<image> <class id>
    /// <species> <breed id>"); the first half of the labels are cats spelled "Red_Circle", the rest dogs
    /// "red_circle" (the reader lowercases: class "red_circle"). Labels = drawn order (class id − 1).
    func oxfordPets() -> LayoutPlan {
        let classes = drawnClasses("OxfordPets")
        let cats = (classes.count + 1) / 2
        func stem(_ s: Slot) -> String {
            let breed = Self.underscored(s.cls.name)
            return s.label < cats ? breed.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: "_") : breed
        }
        let items = slots(classes).map { LayoutItem(slot: $0, path: "\(stem($0))_\($0.m).jpg", classname: Self.underscored($0.cls.name)) }
        func annotations(_ splits: Set<String>) -> String {
            Self.lines(items.filter { splits.contains($0.slot.split) }.map { item in
                let s = item.slot
                let (species, breedID) = s.label < cats ? (1, s.label + 1) : (2, s.label - cats + 1)
                return "\(stem(s))_\(s.m) \(s.label + 1) \(species) \(breedID)"
            })
        }
        return layoutPlan("OxfordPets", folder: "oxford_pets", imageDir: "images", classes: classes, items: items, texts: [
            ("oxford_pets/annotations/trainval.txt", annotations(["train", "val"])),
            ("oxford_pets/annotations/test.txt", annotations(["test"])),
        ])
    }

    /// `stanford_cars/cars_train/00001.jpg` (train then val, numbered across classes) and
    /// `stanford_cars/cars_test/00001.jpg`; split paths relative to `stanford_cars/`; class "red circle"; drawn order.
    func stanfordCars() -> LayoutPlan {
        let classes = drawnClasses("StanfordCars")
        let items = slots(classes).map { s in
            LayoutItem(slot: s, path: s.split == "test" ? "cars_test/\(SynthFiles.zeroPadded(s.i + 1, 5)).jpg" : "cars_train/\(SynthFiles.zeroPadded(s.n, 5)).jpg",
                       classname: s.cls.name)
        }
        return layoutPlan("StanfordCars", folder: "stanford_cars", imageDir: "", classes: classes, items: items)
    }

    /// `oxford_flowers/jpg/image_00001.jpg` (numbered across the dataset) and `cat_to_name.json`
    /// ({"1": "red circle", …}, label = key − 1); class "red circle"; drawn order.
    func oxfordFlowers() -> LayoutPlan {
        let classes = drawnClasses("OxfordFlowers")
        let items = slots(classes).map { LayoutItem(slot: $0, path: "image_\(SynthFiles.zeroPadded($0.n, 5)).jpg", classname: $0.cls.name) }
        let catToName = "{" + classes.enumerated().map { "\"\($0.offset + 1)\": \(Self.quoted($0.element.name))" }.joined(separator: ", ") + "}\n"
        return layoutPlan("OxfordFlowers", folder: "oxford_flowers", imageDir: "jpg", classes: classes, items: items,
                          texts: [("oxford_flowers/cat_to_name.json", catToName)])
    }

    /// `food-101/images/red_circle/<100000+n>.jpg`; sorted folders = labels; class = folder name.
    func food101() -> LayoutPlan {
        let folder = { (c: DemoClass) in Self.underscored(c.name) }
        let classes = sortedByFolder("Food101", folder)
        let items = slots(classes).map { LayoutItem(slot: $0, path: "\(folder($0.cls))/\(100_000 + $0.n).jpg", classname: folder($0.cls)) }
        return layoutPlan("Food101", folder: "food-101", imageDir: "images", classes: classes, items: items)
    }

    /// `sun397/SUN397/<dir>/sun_<16 letters>.jpg`, `ClassName.txt` ("/<dir>", drawn order = labels),
    /// `Training_01.txt` (train+val) and `Testing_01.txt` ("/<dir>/sun_….jpg"). Even labels use a
    /// one-level dir "r/red_circle" (class "red_circle"), odd labels a two-level one "c/circle/red"
    /// (the reader reverses the levels after the letter: class "red circle").
    func sun397() -> LayoutPlan {
        let classes = drawnClasses("SUN397")
        func dir(_ label: Int) -> String {
            let (shape, color) = (classes[label].shape!.name, classes[label].color!.name)
            return label % 2 == 0 ? "\(color.prefix(1))/\(color)_\(shape)" : "\(shape.prefix(1))/\(shape)/\(color)"
        }
        let items = slots(classes).map { s -> LayoutItem in
            var random = ShapeRandom(seed: 0, stream: Self.tag("SUN397/names"), index: UInt64(s.n))
            let letters = String((0..<16).map { _ in Character(UnicodeScalar(UInt8(97 + random.below(26)))) })
            let name = s.label % 2 == 0 ? "\(s.cls.color!.name)_\(s.cls.shape!.name)" : s.cls.name
            return LayoutItem(slot: s, path: "\(dir(s.label))/sun_\(letters).jpg", classname: name)
        }
        func partition(_ splits: Set<String>) -> String {
            Self.lines(items.filter { splits.contains($0.slot.split) }.map { "/" + $0.path })
        }
        return layoutPlan("SUN397", folder: "sun397", imageDir: "SUN397", classes: classes, items: items, texts: [
            ("sun397/ClassName.txt", Self.lines(classes.indices.map { "/" + dir($0) })),
            ("sun397/Training_01.txt", partition(["train", "val"])),
            ("sun397/Testing_01.txt", partition(["test"])),
        ])
    }

    /// `dtd/images/red_circle/red_circle_0001.jpg`; sorted folders = labels; class = folder name.
    func describableTextures() -> LayoutPlan {
        let folder = { (c: DemoClass) in Self.underscored(c.name) }
        let classes = sortedByFolder("DescribableTextures", folder)
        let items = slots(classes).map { s in
            LayoutItem(slot: s, path: "\(folder(s.cls))/\(folder(s.cls))_\(SynthFiles.zeroPadded(s.m, 4)).jpg", classname: folder(s.cls))
        }
        return layoutPlan("DescribableTextures", folder: "dtd", imageDir: "images", classes: classes, items: items)
    }

    /// `eurosat/2750/RedCircle/RedCircle_1.jpg`; sorted folders = labels; class "Red Circle" (the
    /// spaced name CoOp's `NEW_CNAMES` would give; the split file stores renamed names).
    func euroSAT() -> LayoutPlan {
        let folder = { (c: DemoClass) in Self.capitalized(c.name).joined() }
        let classes = sortedByFolder("EuroSAT", folder)
        let items = slots(classes).map { s in
            LayoutItem(slot: s, path: "\(folder(s.cls))/\(folder(s.cls))_\(s.m).jpg", classname: Self.capitalized(s.cls.name).joined(separator: " "))
        }
        return layoutPlan("EuroSAT", folder: "eurosat", imageDir: "2750", classes: classes, items: items)
    }

    /// `ucf101/UCF-101-midframes/Red_Circle/v_RedCircle_g08_c01.jpg` and `ucf101/ucfTrainTestlist/`
    /// {classInd.txt ("1 RedCircle", drawn order = labels), trainlist01.txt ("RedCircle/v_…avi 1"),
    /// testlist01.txt}; test videos are groups 1…e, train/val the next ones; class "Red_Circle".
    func ucf101() -> LayoutPlan {
        let classes = drawnClasses("UCF101")
        let action = { (c: DemoClass) in Self.capitalized(c.name).joined() }
        func video(_ s: Slot) -> String {
            "v_\(action(s.cls))_g\(SynthFiles.zeroPadded(s.split == "test" ? s.k + 1 : perClass.test + s.m, 2))_c01"
        }
        let items = slots(classes).map { s in
            LayoutItem(slot: s, path: "\(Self.capitalized(s.cls.name).joined(separator: "_"))/\(video(s)).jpg",
                       classname: Self.capitalized(s.cls.name).joined(separator: "_"))
        }
        func list(_ splits: Set<String>, labelled: Bool) -> String {
            Self.lines(items.filter { splits.contains($0.slot.split) }.map {
                "\(action($0.slot.cls))/\(video($0.slot)).avi" + (labelled ? " \($0.slot.label + 1)" : "")
            })
        }
        return layoutPlan("UCF101", folder: "ucf101", imageDir: "UCF-101-midframes", classes: classes, items: items, texts: [
            ("ucf101/ucfTrainTestlist/classInd.txt", Self.lines(classes.enumerated().map { "\($0.offset + 1) \(action($0.element))" })),
            ("ucf101/ucfTrainTestlist/trainlist01.txt", list(["train", "val"], labelled: true)),
            ("ucf101/ucfTrainTestlist/testlist01.txt", list(["test"], labelled: false)),
        ])
    }

    // MARK: - FGVCAircraft (official lists, no split JSON)

    /// `fgvc_aircraft/images/0000001.jpg` (ids numbered across the dataset), `variants.txt` (one name
    /// per line, drawn order = labels) and `images_variant_{train,val,test}.txt` ("0000001 red circle").
    func fgvcAircraft() -> LayoutPlan {
        let classes = drawnClasses("FGVCAircraft")
        let items = slots(classes).map { LayoutItem(slot: $0, path: "\(SynthFiles.zeroPadded($0.n, 7)).jpg", classname: $0.cls.name) }
        let lists = Self.splits.map { split in
            ("fgvc_aircraft/images_variant_\(split).txt",
             Self.lines(items.filter { $0.slot.split == split }.map { "\(SynthFiles.zeroPadded($0.slot.n, 7)) \($0.classname)" }))
        }
        return layoutPlan("FGVCAircraft", folder: "fgvc_aircraft", imageDir: "images", classes: classes, items: items,
                          texts: [("fgvc_aircraft/variants.txt", Self.lines(classes.map(\.name)))] + lists, splitJSON: false)
    }

    // MARK: - Text helpers

    /// CoOp's split file: {"train": [[path, label, classname], …], "val": …, "test": …}, one entry a line.
    static func splitJSON(_ items: [LayoutItem]) -> String {
        let parts = splits.map { split in
            let rows = items.filter { $0.slot.split == split }.map { "  [\(quoted($0.path)), \($0.slot.label), \(quoted($0.classname))]" }
            return "\(quoted(split)): [" + (rows.isEmpty ? "]" : "\n" + rows.joined(separator: ",\n") + "\n]")
        }
        return "{\n" + parts.joined(separator: ",\n") + "\n}\n"
    }

    static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func lines(_ lines: [String]) -> String { lines.map { $0 + "\n" }.joined() }


    /// "red circle" → "red_circle".
    static func underscored(_ name: String) -> String { name.replacingOccurrences(of: " ", with: "_") }

    /// "red circle" → ["Red", "Circle"].
    static func capitalized(_ name: String) -> [String] {
        name.split(separator: " ").map { $0.prefix(1).uppercased() + $0.dropFirst() }
    }
}
