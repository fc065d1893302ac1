import NetcZooImageNet

/// The architecture zoo (architectures/), embedded in the binary so that `netc summary resnet50`
/// works from anywhere. Names are file paths below architectures/ without `.yaml`.
public enum Zoo {
    /// The built-in default: d2l's ResNet-18 for Fashion-MNIST.
    public static let defaultName = "resnet18"

    /// Spec text by name (`resnet18`, `imagenet/resnet50`).
    public static let specs: [String: String] = {
        var all: [String: String] = [:]
        for (name, bytes) in chapter { all[name] = String(decoding: bytes, as: UTF8.self) }
        for (name, bytes) in imagenetArchitectures { all["imagenet/\(name)"] = String(decoding: bytes, as: UTF8.self) }
        return all
    }()

    public static var names: [String] { specs.keys.sorted() }

    /// The spec text for a bundled name, if there is one.
    public static func spec(named name: String) -> String? {
        specs[name.hasSuffix(".yaml") ? String(name.dropLast(5)) : name]
    }

    private static let chapter: [String: [UInt8]] = [
        "resnet18": PackageResources.resnet18_yaml,
        "resnet34": PackageResources.resnet34_yaml,
        "resnet50": PackageResources.resnet50_yaml,
        "resnet101": PackageResources.resnet101_yaml,
        "resnet152": PackageResources.resnet152_yaml,
        "resnext": PackageResources.resnext_yaml,
        "preact-resnet18": PackageResources.preact_resnet18_yaml,
        "lenet": PackageResources.lenet_yaml,
        "googlenet": PackageResources.googlenet_yaml,
    ]
}
