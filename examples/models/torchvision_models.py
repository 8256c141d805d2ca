"""torchvision's ResNet-18 and DenseNet-121 (BatchNorm throughout), untouched, as model files
for `fracsweep export --task vertebra --neighbours`: the three neighbouring patches
(previous, current, next) are the three input channels the models were built for, and the
classifier has the task's three classes. The full-size equality cases of
bench/exported_equality.py:

    .venv/bin/python bench/exported_equality.py examples/models/torchvision_models.py \\
        --function resnet18 --task vertebra --neighbours --size 64 --batch 8

`--function densenet121` for the other. torchvision is not a dependency of fracsweep
itself (`pip install torchvision==0.26.0` into the venv for these files)."""
import torchvision


def resnet18():
    return torchvision.models.resnet18(num_classes=3)


def densenet121():
    return torchvision.models.densenet121(num_classes=3)
