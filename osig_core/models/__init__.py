"""models registry entries: importing this package registers them."""
from osig_core.models import cnn, gpt, linear2, mlp, resnet, vgg, vit  # noqa: F401
