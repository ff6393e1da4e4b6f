"""`inferencecheck lint`: static checks of deployment code. Reads syntax trees; never imports or
runs the code it reads, and never imports torch."""
