/// torchvision's ImageNet networks as specs (architectures/imagenet/), embedded in the binary.
public let imagenetArchitectures: [String: [UInt8]] = [
    "resnet18": PackageResources.resnet18_yaml,
    "resnet34": PackageResources.resnet34_yaml,
    "resnet50": PackageResources.resnet50_yaml,
    "resnet101": PackageResources.resnet101_yaml,
    "resnet152": PackageResources.resnet152_yaml,
    "resnext50_32x4d": PackageResources.resnext50_32x4d_yaml,
    "wide_resnet50_2": PackageResources.wide_resnet50_2_yaml,
    "vgg11": PackageResources.vgg11_yaml,
    "alexnet": PackageResources.alexnet_yaml,
    "regnet_x_400mf": PackageResources.regnet_x_400mf_yaml,
    "regnet_y_400mf": PackageResources.regnet_y_400mf_yaml,
    "mobilenet_v2": PackageResources.mobilenet_v2_yaml,
]
