// Importing a handler file registers its kind. One line per kind; append yours.
import './lr_schedule.js';
import './precision_cast.js';
import './softmax.js';
import './activation.js';
import './causal_attention.js';
import './optimizer.js';
import './clip_grad_norm.js';
import './grad_scaler.js';
import './layer_norm.js';
import './rms_norm.js';
import './batch_norm1d.js';
import './dropout.js';
