package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

var (
	_ resource.Resource                     = (*deliveryRoleResource)(nil)
	_ resource.ResourceWithConfigure        = (*deliveryRoleResource)(nil)
	_ resource.ResourceWithImportState      = (*deliveryRoleResource)(nil)
	_ resource.ResourceWithIdentity         = (*deliveryRoleResource)(nil)
	_ resource.ResourceWithConfigValidators = (*deliveryRoleResource)(nil)
)

// NewDeliveryRoleResource is the factory of tablestore_delivery_role.
func NewDeliveryRoleResource() resource.Resource { return &deliveryRoleResource{} }

type deliveryRoleResource struct {
	client *client.Client
}

type deliveryRoleModel struct {
	Name                      types.String `tfsdk:"name"`
	OSSAccessKeyID            types.String `tfsdk:"oss_access_key_id"`
	OSSAccessKeySecret        types.String `tfsdk:"oss_access_key_secret"`
	OSSAccessKeySecretWO      types.String `tfsdk:"oss_access_key_secret_wo"`
	OSSAccessKeySecretVersion types.Int64  `tfsdk:"oss_access_key_secret_wo_version"`
	Description               types.String `tfsdk:"description"`
	ARN                       types.String `tfsdk:"arn"`
}

type deliveryRoleIdentity struct {
	Name types.String `tfsdk:"name"`
}

func (r *deliveryRoleResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_delivery_role"
}

func (r *deliveryRoleResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A delivery service role: the OSS credentials delivery tasks write with. Tasks name it by " +
			"its `arn`. The executor never returns the secret, so it is not refreshed: a secret changed " +
			"outside Terraform is not detected.",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{
				Description: "The role name, 1 to 64 letters, digits, `.`, `-` and `_`. Defaults to `" +
					task.DefaultRoleName + "`, the role tasks use when they name none.",
				Optional:      true,
				Computed:      true,
				Default:       stringdefault.StaticString(task.DefaultRoleName),
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{validRoleName},
			},
			"oss_access_key_id": schema.StringAttribute{
				Description: "The OSS AccessKey ID the role's tasks write with.",
				Required:    true,
				Validators:  []validator.String{validAccessKeyID},
			},
			"oss_access_key_secret": schema.StringAttribute{
				Description: "The OSS AccessKey secret. It is kept in the Terraform state; prefer " +
					"`oss_access_key_secret_wo` where the CLI supports write-only attributes " +
					"(Terraform 1.11+, OpenTofu 1.11+). Exactly one of the two must be set.",
				Optional:  true,
				Sensitive: true,
			},
			"oss_access_key_secret_wo": schema.StringAttribute{
				Description: "The OSS AccessKey secret as a write-only value: sent to the executor, never stored " +
					"in the plan or state. Change `oss_access_key_secret_wo_version` to send a new secret.",
				Optional:  true,
				Sensitive: true,
				WriteOnly: true,
			},
			"oss_access_key_secret_wo_version": schema.Int64Attribute{
				Description: "A number to change whenever `oss_access_key_secret_wo` changes, so the new secret " +
					"is sent (Terraform cannot compare write-only values).",
				Optional: true,
				Validators: []validator.Int64{
					int64validator.AlsoRequires(path.MatchRoot("oss_access_key_secret_wo")),
				},
			},
			"description": schema.StringAttribute{
				Description: "Free text, at most 1024 characters.",
				Optional:    true,
				Computed:    true,
				Default:     stringdefault.StaticString(""),
				Validators:  []validator.String{validRoleDesc},
			},
			"arn": schema.StringAttribute{
				Description:   "The role's ARN, `acs:ram::<account>:role/<lower-cased name>`; set it as a task's `role_arn`.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func (r *deliveryRoleResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(
			path.MatchRoot("oss_access_key_secret"),
			path.MatchRoot("oss_access_key_secret_wo"),
		),
	}
}

func (r *deliveryRoleResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"name": identityschema.StringAttribute{RequiredForImport: true, Description: "The role name."},
		},
	}
}

func (r *deliveryRoleResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// put sends the role with the secret from the configuration: write-only
// values exist only there, never in the plan.
func (r *deliveryRoleResource) put(ctx context.Context, plan *deliveryRoleModel, config deliveryRoleModel) (*task.Role, error) {
	secret := config.OSSAccessKeySecret.ValueString()
	if !config.OSSAccessKeySecretWO.IsNull() {
		secret = config.OSSAccessKeySecretWO.ValueString()
	}
	return r.client.PutRole(ctx, plan.Name.ValueString(), task.RoleInput{
		OSSAccessKeyID:     plan.OSSAccessKeyID.ValueString(),
		OSSAccessKeySecret: secret,
		Description:        plan.Description.ValueString(),
	})
}

// save puts the planned role and stores what the executor answered. Create
// and Update do the same (the executor's PUT replaces the whole role); verb
// starts the error summary.
func (r *deliveryRoleResource) save(ctx context.Context, verb string, planned tfsdk.Plan, configured tfsdk.Config, state *tfsdk.State, identity *tfsdk.ResourceIdentity, diags *diag.Diagnostics) {
	var plan, config deliveryRoleModel
	diags.Append(planned.Get(ctx, &plan)...)
	diags.Append(configured.Get(ctx, &config)...)
	if diags.HasError() {
		return
	}
	role, err := r.put(ctx, &plan, config)
	if err != nil {
		addClientError(diags, verb+" delivery role "+plan.Name.ValueString(), err)
		return
	}
	plan.fill(role)
	diags.Append(state.Set(ctx, &plan)...)
	diags.Append(identity.Set(ctx, deliveryRoleIdentity{Name: types.StringValue(role.Name)})...)
}

func (r *deliveryRoleResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.save(ctx, "Creating", req.Plan, req.Config, &resp.State, resp.Identity, &resp.Diagnostics)
}

func (r *deliveryRoleResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state deliveryRoleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	role, err := r.client.GetRole(ctx, state.Name.ValueString())
	if client.IsNotFound(err) {
		// Deleted outside Terraform. The framework insists on an identity
		// even for a removed resource when the CLI (Terraform 1.11) stored none.
		resp.Diagnostics.Append(resp.Identity.Set(ctx, deliveryRoleIdentity{Name: state.Name})...)
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addClientError(&resp.Diagnostics, "Reading delivery role "+state.Name.ValueString(), err)
		return
	}
	// The secret is never returned by the executor: it keeps the value
	// Terraform sent. The key id is returned, so a changed key shows as drift.
	state.fill(role)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	resp.Diagnostics.Append(resp.Identity.Set(ctx, deliveryRoleIdentity{Name: types.StringValue(role.Name)})...)
}

func (r *deliveryRoleResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.save(ctx, "Updating", req.Plan, req.Config, &resp.State, resp.Identity, &resp.Diagnostics)
}

func (r *deliveryRoleResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state deliveryRoleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	err := r.client.DeleteRole(ctx, state.Name.ValueString())
	if err != nil && !client.IsNotFound(err) {
		addClientError(&resp.Diagnostics, "Deleting delivery role "+state.Name.ValueString(), err)
	}
}

func (r *deliveryRoleResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughWithIdentity(ctx, path.Root("name"), path.Root("name"), req, resp)
}

// fill copies what the executor returns; the write-only secret is always
// null in state by the framework's rules.
func (m *deliveryRoleModel) fill(role *task.Role) {
	m.Name = types.StringValue(role.Name)
	m.ARN = types.StringValue(role.ARN)
	if role.OSSAccessKeyID != "" { // roles stored before the executor returned it keep state
		m.OSSAccessKeyID = types.StringValue(role.OSSAccessKeyID)
	}
	m.Description = types.StringValue(role.Description)
	m.OSSAccessKeySecretWO = types.StringNull()
}
