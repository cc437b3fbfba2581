package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

const (
	defaultCreateTimeout = 5 * time.Minute
	defaultDeleteTimeout = 5 * time.Minute
	// pollInterval is how often create and delete ask the executor again
	// while a task initializes.
	pollInterval = 500 * time.Millisecond
)

var (
	_ resource.Resource                   = (*deliveryTaskResource)(nil)
	_ resource.ResourceWithConfigure      = (*deliveryTaskResource)(nil)
	_ resource.ResourceWithImportState    = (*deliveryTaskResource)(nil)
	_ resource.ResourceWithIdentity       = (*deliveryTaskResource)(nil)
	_ resource.ResourceWithValidateConfig = (*deliveryTaskResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*deliveryTaskResource)(nil)
)

// objectAsOptions reads null or unknown nested attributes as null values
// rather than failing.
var objectAsOptions = basetypes.ObjectAsOptions{UnhandledNullAsEmpty: true, UnhandledUnknownAsEmpty: true}

// NewDeliveryTaskResource is the factory of tablestore_delivery_task.
func NewDeliveryTaskResource() resource.Resource { return &deliveryTaskResource{} }

type deliveryTaskResource struct {
	client *client.Client
}

// deliveryTaskModel mirrors the schema below, one field per attribute.
type deliveryTaskModel struct {
	ID                   types.String   `tfsdk:"id"`
	TableName            types.String   `tfsdk:"table_name"`
	Name                 types.String   `tfsdk:"name"`
	Region               types.String   `tfsdk:"region"`
	Bucket               types.String   `tfsdk:"bucket"`
	Prefix               types.String   `tfsdk:"prefix"`
	SyncMode             types.String   `tfsdk:"sync_mode"`
	RoleARN              types.String   `tfsdk:"role_arn"`
	Format               types.String   `tfsdk:"format"`
	SchemaMode           types.String   `tfsdk:"schema_mode"`
	Column               types.List     `tfsdk:"column"`
	EventTimeColumn      types.Object   `tfsdk:"event_time_column"`
	DirtyPrefix          types.String   `tfsdk:"dirty_prefix"`
	Compression          types.String   `tfsdk:"compression"`
	FlushIntervalSeconds types.Int64    `tfsdk:"flush_interval_seconds"`
	TargetObjectSizeMB   types.Int64    `tfsdk:"target_object_size_mb"`
	TimeZone             types.String   `tfsdk:"time_zone"`
	Phase                types.String   `tfsdk:"phase"`
	LastSyncedAt         types.String   `tfsdk:"last_synced_at"`
	ErrorCode            types.String   `tfsdk:"error_code"`
	ErrorDetail          types.String   `tfsdk:"error_detail"`
	ResolvedColumns      types.List     `tfsdk:"resolved_columns"`
	CreateTableDDL       types.String   `tfsdk:"create_table_ddl"`
	Timeouts             timeouts.Value `tfsdk:"timeouts"`
}

type columnModel struct {
	Source   types.String `tfsdk:"source"`
	Name     types.String `tfsdk:"name"`
	Type     types.String `tfsdk:"type"`
	Encoding types.String `tfsdk:"encoding"`
}

type eventTimeColumnModel struct {
	Name   types.String `tfsdk:"name"`
	Format types.String `tfsdk:"format"`
}

// deliveryTaskIdentity is the resource identity: what names a task for
// `import { identity = {...} }` on CLIs that support it.
type deliveryTaskIdentity struct {
	TableName types.String `tfsdk:"table_name"`
	Name      types.String `tfsdk:"name"`
}

var columnAttrTypes = map[string]attr.Type{
	"source":   types.StringType,
	"name":     types.StringType,
	"type":     types.StringType,
	"encoding": types.StringType,
}

var eventTimeColumnAttrTypes = map[string]attr.Type{
	"name":   types.StringType,
	"format": types.StringType,
}

func (r *deliveryTaskResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_delivery_task"
}

func (r *deliveryTaskResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A delivery task: it delivers one Tablestore table to an OSS bucket as Parquet objects, " +
			"first the existing rows and then every change, depending on `sync_mode`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The task's identifier `<table_name>/<name>`, also its import id.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"table_name": schema.StringAttribute{
				Description: "The source Tablestore table. It must exist when the task is created.",
				Required:    true,
				Validators:  []validator.String{validTable},
			},
			"name": schema.StringAttribute{
				Description: "The task's name, unique per table: 3 to 16 lower-case letters, digits and `-`, " +
					"starting and ending with a letter or digit.",
				Required:   true,
				Validators: []validator.String{validTaskName},
			},
			"region": schema.StringAttribute{
				Description: "The region of the destination bucket. It must be the region of the Tablestore " +
					"instance; defaults to the executor's region.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				Validators:    []validator.String{validRegion},
			},
			"bucket": schema.StringAttribute{
				Description: "The destination OSS bucket.",
				Required:    true,
				Validators:  []validator.String{validBucket},
			},
			"prefix": schema.StringAttribute{
				Description: "The folder prefix of delivered objects. It may use the time variables `$yyyy`, " +
					"`$MM`, `$dd`, `$HH` and `$mm`, evaluated with each row's write time (or its event time " +
					"column), in `time_zone` (UTC by default); `key=$var` folders make Hive-style partitions, e.g. " +
					"`orders/year=$yyyy/month=$MM/day=$dd`.",
				Required:   true,
				Validators: []validator.String{validPrefix},
			},
			"sync_mode": schema.StringAttribute{
				Description: "`full` (deliver the existing rows once), `incremental` (only changes from now on) " +
					"or `differential` (both, with nothing lost in between). Defaults to `" +
					string(task.DefaultSyncMode) + "`.",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(string(task.DefaultSyncMode)),
				Validators: []validator.String{validSyncMode},
			},
			"role_arn": schema.StringAttribute{
				Description: "The ARN of the delivery role whose OSS credentials the task uses, usually " +
					"`tablestore_delivery_role.<name>.arn`. Defaults to the executor's default role.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				Validators:    []validator.String{validRoleARN},
			},
			"format": schema.StringAttribute{
				Description: "The object format; only `" + task.FormatParquet + "`, the default.",
				Optional:    true,
				Computed:    true,
				Default:     stringdefault.StaticString(task.DefaultFormat),
				Validators:  []validator.String{validFormat},
			},
			"schema_mode": schema.StringAttribute{
				Description: "`manual` delivers exactly the `column` blocks, in order; `auto` lets the executor " +
					"resolve the columns from the table. Defaults to `manual` when `column` blocks are given " +
					"and `auto` otherwise.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: []planmodifier.String{schemaModeDefault{}},
				Validators:    []validator.String{validSchemaMode},
			},
			"dirty_prefix": schema.StringAttribute{
				Description: "Where rows that cannot be converted go, as newline-delimited JSON with the reason " +
					"per row. Empty (the default) discards them.",
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString(""),
			},
			"compression": schema.StringAttribute{
				Description: "The Parquet compression codec: `none`, `snappy`, `gzip` or `zstd`. Defaults to `" +
					string(task.DefaultCompression) + "`.",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(string(task.DefaultCompression)),
				Validators: []validator.String{validCompress},
			},
			"flush_interval_seconds": schema.Int64Attribute{
				Description: fmt.Sprintf("The longest time rows wait in a buffer before they are written, "+
					"%d to %d seconds. Defaults to %d.", task.MinFlushIntervalSeconds,
					task.MaxFlushIntervalSeconds, task.DefaultFlushIntervalSeconds),
				Optional:   true,
				Computed:   true,
				Default:    int64default.StaticInt64(task.DefaultFlushIntervalSeconds),
				Validators: []validator.Int64{validFlush},
			},
			"target_object_size_mb": schema.Int64Attribute{
				Description: fmt.Sprintf("The size at which a buffer is written as one object, %d to %d MB. "+
					"Defaults to %d.", task.MinTargetObjectSizeMB, task.MaxTargetObjectSizeMB,
					task.DefaultTargetObjectSizeMB),
				Optional:   true,
				Computed:   true,
				Default:    int64default.StaticInt64(task.DefaultTargetObjectSizeMB),
				Validators: []validator.Int64{validObjectSize},
			},
			"time_zone": schema.StringAttribute{
				Description: "The IANA time zone (such as `Europe/Berlin` or `Asia/Shanghai`; case-sensitive) in " +
					"which the prefix's `$yyyy $MM $dd $HH $mm` are evaluated, for the write time and the event " +
					"time column alike, daylight saving included. Defaults to `" + task.DefaultTimeZone + "`. " +
					"Changing it changes the layout of the objects, so it replaces the task.",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(task.DefaultTimeZone),
				Validators: []validator.String{validTimeZone},
			},

			// Status, refreshed on every read. These change on the server all
			// the time, so they carry no UseStateForUnknown: a refresh that
			// changes them is not a planned change, and an update shows them
			// as known after apply, which is what they are.
			"phase": schema.StringAttribute{
				Description: "Where the task is: `INIT` (setting up), `FULL` (delivering existing rows), `INCR` " +
					"(following changes) or `FINISHED` (a `full` task that delivered the whole table).",
				Computed: true,
			},
			"last_synced_at": schema.StringAttribute{
				Description: "When delivered data was last made durable in OSS (RFC 3339); null until then.",
				Computed:    true,
			},
			"error_code": schema.StringAttribute{
				Description: "The task's current runtime error, empty when healthy: `UnAuthorized` (create the " +
					"delivery role or fix its keys), `InvalidOssBucket`, `SourceTableMissing`, " +
					"`SchemaResolutionFailed` or `InternalError`. The task keeps retrying.",
				Computed: true,
			},
			"error_detail": schema.StringAttribute{
				Description: "Human-readable detail of `error_code`.",
				Computed:    true,
			},
			"resolved_columns": schema.ListNestedAttribute{
				Description: "The schema actually written: the manual columns, or the resolved automatic schema " +
					"(empty while an `auto` task initializes), each with the time it was added. Columns appended " +
					"later (by `column` blocks added at the end, or, for `auto`, by a defined column added to " +
					"the table) come last, with a later `added_at`: objects written before that lack them.",
				Computed: true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"source":   schema.StringAttribute{Computed: true, Description: "Source column."},
					"name":     schema.StringAttribute{Computed: true, Description: "Parquet column name."},
					"type":     schema.StringAttribute{Computed: true, Description: "Parquet type."},
					"encoding": schema.StringAttribute{Computed: true, Description: "Parquet encoding."},
					"added_at": schema.StringAttribute{Computed: true,
						Description: "When the executor started writing the column (RFC 3339); null for tasks created before this was recorded."},
				}},
			},
			"create_table_ddl": schema.StringAttribute{
				Description: "A Hive `CREATE EXTERNAL TABLE` statement (with `MSCK REPAIR TABLE`) for the " +
					"delivered objects; empty while the schema is not resolved yet.",
				Computed: true,
			},
		},
		Blocks: map[string]schema.Block{
			"column": schema.ListNestedBlock{
				Description: "A delivered column, in Parquet column order (`schema_mode = \"manual\"`). Blocks " +
					"added after the last one change the task in place: rows read from then on carry the new " +
					"columns, objects already written keep theirs. Removing, reordering, renaming or retyping a " +
					"column replaces the task.",
				// Column rules (unique names, encodings valid for the type,
				// columns against the schema mode) run in ValidateConfig.
				PlanModifiers: []planmodifier.List{columnDefaults{}},
				NestedObject: schema.NestedBlockObject{
					Attributes: map[string]schema.Attribute{
						"source": schema.StringAttribute{
							Description: "The Tablestore column (primary key or attribute) read.",
							Required:    true,
						},
						"name": schema.StringAttribute{
							Description: "The Parquet column name. Defaults to `source`.",
							Optional:    true,
							Computed:    true,
						},
						"type": schema.StringAttribute{
							Description: "The Parquet type: `BOOL`, `INT64`, `DOUBLE`, `UTF8` (the documented " +
								"mapping) or `BINARY` (this project's extension). A value of another type is dirty.",
							Required: true,
						},
						"encoding": schema.StringAttribute{
							Description: "The Parquet encoding: `PLAIN` (default), `PLAIN_DICTIONARY`, " +
								"`DELTA_BINARY_PACKED` (INT64), `DELTA_BYTE_ARRAY` or `DELTA_LENGTH_BYTE_ARRAY` " +
								"(UTF8, BINARY).",
							Optional: true,
							Computed: true,
							Default:  stringdefault.StaticString(string(task.EncodingPlain)),
						},
					},
				},
			},
			"event_time_column": schema.SingleNestedBlock{
				Description: "A column whose values give the time for the prefix's variables instead of the " +
					"row's write time.",
				Attributes: map[string]schema.Attribute{
					"name": schema.StringAttribute{
						Description: "The source column holding the event time.",
						Optional:    true,
					},
					"format": schema.StringAttribute{
						Description: "How its values are written: `RFC822`, `RFC850`, `RFC1123`, `RFC3339` or " +
							"`Unix` (seconds since the epoch).",
						Optional: true,
					},
				},
			},
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Delete: true}),
		},
	}
}

func (r *deliveryTaskResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"table_name": identityschema.StringAttribute{RequiredForImport: true, Description: "The source table."},
			"name":       identityschema.StringAttribute{RequiredForImport: true, Description: "The task's name."},
		},
	}
}

// ValidateConfig runs the executor's rules that span several attributes.
func (r *deliveryTaskResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	fieldErrs, errs := validateTaskConfig(ctx, req.Config)
	for _, err := range errs {
		resp.Diagnostics.AddError("Invalid delivery task configuration", err.Error())
	}
	for _, fe := range fieldErrs {
		if p, ok := attributePathForField(fe.Field); ok {
			resp.Diagnostics.AddAttributeError(p, "Invalid "+p.String(), fe.Message)
		} else {
			resp.Diagnostics.AddError("Invalid delivery task configuration", fe.Message)
		}
	}
}

func (r *deliveryTaskResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *deliveryTaskResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan deliveryTaskModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, diags := plan.spec(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	createTimeout, diags := plan.Timeouts.Create(ctx, defaultCreateTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, createTimeout)
	defer cancel()

	created, err := r.client.CreateTask(ctx, spec)
	if err != nil {
		addClientError(&resp.Diagnostics, "Creating delivery task "+spec.ID(), err)
		return
	}
	// The task is stored from here on: keep it in state even if waiting
	// fails, so a later apply or destroy knows about it.
	resp.Diagnostics.Append(plan.fill(ctx, created, r.ddl(ctx, created))...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(resp.Identity.Set(ctx, identityOf(created))...)
	if resp.Diagnostics.HasError() {
		return
	}

	ready, err := waitTaskReady(ctx, r.client, created.Table, created.Name)
	if err != nil {
		resp.Diagnostics.AddError("Waiting for delivery task "+spec.ID()+" to initialize",
			fmt.Sprintf("The task was created but did not leave phase INIT within %s: %s. "+
				"It is recorded in the state as tainted, so the next apply replaces it; "+
				"raise timeouts.create if initialization takes longer here.", createTimeout, err))
		return
	}
	resp.Diagnostics.Append(plan.fill(ctx, ready, r.ddl(ctx, ready))...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *deliveryTaskResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state deliveryTaskModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	table, name := state.TableName.ValueString(), state.Name.ValueString()
	t, err := findTaskByID(ctx, r.client, table, name)
	if isNotFound(err) {
		// Deleted outside Terraform: forget it so the plan creates it again.
		// The framework insists on an identity even for a removed resource
		// when the CLI (Terraform 1.11) stored none.
		resp.Diagnostics.Append(resp.Identity.Set(ctx, deliveryTaskIdentity{TableName: state.TableName, Name: state.Name})...)
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addClientError(&resp.Diagnostics, "Reading delivery task "+table+"/"+name, err)
		return
	}
	resp.Diagnostics.Append(state.fill(ctx, t, r.ddl(ctx, t))...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	resp.Diagnostics.Append(resp.Identity.Set(ctx, identityOf(t))...)
}

func (r *deliveryTaskResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state deliveryTaskModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	newSpec, diags := plan.spec(ctx)
	resp.Diagnostics.Append(diags...)
	oldSpec, diags := state.spec(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	patch := task.PatchFor(oldSpec, newSpec)
	var t *task.Task
	var err error
	if patch.Empty() {
		// Only Terraform-side settings (timeouts) changed: nothing to send.
		t, err = r.client.GetTask(ctx, oldSpec.Table, oldSpec.Name)
	} else {
		t, err = r.client.UpdateTask(ctx, oldSpec.Table, oldSpec.Name, patch)
	}
	if err != nil {
		addClientError(&resp.Diagnostics, "Updating delivery task "+oldSpec.ID(), err)
		return
	}
	resp.Diagnostics.Append(plan.fill(ctx, t, r.ddl(ctx, t))...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(resp.Identity.Set(ctx, identityOf(t))...)
}

func (r *deliveryTaskResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state deliveryTaskModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	deleteTimeout, diags := state.Timeouts.Delete(ctx, defaultDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()

	table, name := state.TableName.ValueString(), state.Name.ValueString()
	for {
		err := r.client.DeleteTask(ctx, table, name)
		if err == nil || client.IsNotFound(err) {
			return
		}
		if !client.IsInitializing(err) {
			addClientError(&resp.Diagnostics, "Deleting delivery task "+table+"/"+name, err)
			return
		}
		// The executor refuses to delete a task while it initializes
		// (409 TaskInitializing); that passes within about a minute.
		if werr := waitTaskDeletable(ctx, r.client, table, name); werr != nil {
			resp.Diagnostics.AddError("Deleting delivery task "+table+"/"+name,
				fmt.Sprintf("The executor still refuses to delete the task after %s: %s (%s)", deleteTimeout, err, werr))
			return
		}
	}
}

func (r *deliveryTaskResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	var table, name string
	if req.ID != "" {
		var err error
		table, name, err = parseTaskImportID(req.ID)
		if err != nil {
			resp.Diagnostics.AddError("Invalid import id", err.Error())
			return
		}
	} else {
		var id deliveryTaskIdentity
		resp.Diagnostics.Append(req.Identity.Get(ctx, &id)...)
		if resp.Diagnostics.HasError() {
			return
		}
		table, name = id.TableName.ValueString(), id.Name.ValueString()
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("table_name"), table)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), table+"/"+name)...)
	if resp.Identity != nil {
		resp.Diagnostics.Append(resp.Identity.Set(ctx, deliveryTaskIdentity{
			TableName: types.StringValue(table), Name: types.StringValue(name),
		})...)
	}
}

// parseTaskImportID splits "<table_name>/<name>". Table names cannot hold
// a '/', and neither can task names, so exactly one is expected.
func parseTaskImportID(id string) (table, name string, err error) {
	table, name, ok := strings.Cut(id, "/")
	if !ok || table == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("import a delivery task by \"<table_name>/<name>\", for example orders/orders-lake; got %q", id)
	}
	return table, name, nil
}

// ddl renders the task's Hive statement with the executor's own renderer
// (the same the DDL endpoint uses), or "" while it cannot be rendered yet
// (an auto schema that is not resolved). A status attribute is not worth a
// failed read, nor an extra request on every refresh.
func (r *deliveryTaskResource) ddl(_ context.Context, t *task.Task) string {
	statement, err := task.DDL(*t, task.DialectHive, task.DDLOptions{})
	if err != nil {
		return ""
	}
	return statement
}

func identityOf(t *task.Task) deliveryTaskIdentity {
	return deliveryTaskIdentity{TableName: types.StringValue(t.Table), Name: types.StringValue(t.Name)}
}

// spec converts the planned (or stored) attributes to a TaskSpec.
func (m *deliveryTaskModel) spec(ctx context.Context) (task.Spec, diag.Diagnostics) {
	var diags diag.Diagnostics
	s := task.Spec{
		Name:                 m.Name.ValueString(),
		Table:                m.TableName.ValueString(),
		Region:               m.Region.ValueString(),
		Bucket:               m.Bucket.ValueString(),
		Prefix:               m.Prefix.ValueString(),
		SyncMode:             task.SyncMode(m.SyncMode.ValueString()),
		RoleARN:              m.RoleARN.ValueString(),
		Format:               m.Format.ValueString(),
		SchemaMode:           task.SchemaMode(m.SchemaMode.ValueString()),
		Columns:              []task.Column{},
		DirtyPrefix:          m.DirtyPrefix.ValueString(),
		Compression:          task.Compression(m.Compression.ValueString()),
		FlushIntervalSeconds: int(m.FlushIntervalSeconds.ValueInt64()),
		TargetObjectSizeMB:   int(m.TargetObjectSizeMB.ValueInt64()),
		TimeZone:             m.TimeZone.ValueString(),
	}
	var columns []columnModel
	if !m.Column.IsNull() && !m.Column.IsUnknown() { // an unknown list is ModifyPlan's to handle
		diags.Append(m.Column.ElementsAs(ctx, &columns, false)...)
	}
	for _, c := range columns {
		s.Columns = append(s.Columns, task.Column{
			Source:   c.Source.ValueString(),
			Name:     c.Name.ValueString(),
			Type:     task.ColumnType(c.Type.ValueString()),
			Encoding: task.Encoding(c.Encoding.ValueString()),
		})
	}
	if !m.EventTimeColumn.IsNull() && !m.EventTimeColumn.IsUnknown() {
		var e eventTimeColumnModel
		diags.Append(m.EventTimeColumn.As(ctx, &e, objectAsOptions)...)
		s.EventTimeColumn = &task.EventTimeColumn{Name: e.Name.ValueString(), Format: task.TimeFormat(e.Format.ValueString())}
	}
	return s, diags
}

// fill sets every attribute from the executor's answer, so that the state
// shows what the executor holds (drift shows as a planned update).
func (m *deliveryTaskModel) fill(ctx context.Context, t *task.Task, ddl string) diag.Diagnostics {
	var diags, d diag.Diagnostics
	m.ID = types.StringValue(t.ID())
	m.TableName = types.StringValue(t.Table)
	m.Name = types.StringValue(t.Name)
	m.Region = types.StringValue(t.Region)
	m.Bucket = types.StringValue(t.Bucket)
	m.Prefix = types.StringValue(t.Prefix)
	m.SyncMode = types.StringValue(string(t.SyncMode))
	m.RoleARN = types.StringValue(t.RoleARN)
	m.Format = types.StringValue(t.Format)
	m.SchemaMode = types.StringValue(string(t.SchemaMode))
	m.DirtyPrefix = types.StringValue(t.DirtyPrefix)
	m.Compression = types.StringValue(string(t.Compression))
	m.FlushIntervalSeconds = types.Int64Value(int64(t.FlushIntervalSeconds))
	m.TargetObjectSizeMB = types.Int64Value(int64(t.TargetObjectSizeMB))
	m.TimeZone = types.StringValue(t.TimeZone)

	m.Column, d = columnList(t.Columns)
	diags.Append(d...)
	if t.EventTimeColumn == nil {
		m.EventTimeColumn = types.ObjectNull(eventTimeColumnAttrTypes)
	} else {
		m.EventTimeColumn, d = types.ObjectValue(eventTimeColumnAttrTypes, map[string]attr.Value{
			"name":   types.StringValue(t.EventTimeColumn.Name),
			"format": types.StringValue(string(t.EventTimeColumn.Format)),
		})
		diags.Append(d...)
	}

	m.Phase = types.StringValue(string(t.Status.Phase))
	if t.Status.LastSyncedAt == nil {
		m.LastSyncedAt = types.StringNull()
	} else {
		m.LastSyncedAt = types.StringValue(t.Status.LastSyncedAt.UTC().Format(time.RFC3339))
	}
	m.ErrorCode = types.StringValue(string(t.Status.ErrorCode))
	m.ErrorDetail = types.StringValue(t.Status.ErrorDetail)
	m.ResolvedColumns, d = resolvedColumnList(t.Status.ResolvedColumns)
	diags.Append(d...)
	m.CreateTableDDL = types.StringValue(ddl)
	if m.Timeouts.IsNull() || m.Timeouts.IsUnknown() {
		// Imported resources have no timeouts block yet.
		m.Timeouts = timeouts.Value{Object: types.ObjectNull(timeoutsAttrTypes)}
	}
	_ = ctx
	return diags
}

var timeoutsAttrTypes = map[string]attr.Type{
	"create": types.StringType,
	"delete": types.StringType,
}

var resolvedColumnAttrTypes = map[string]attr.Type{
	"source":   types.StringType,
	"name":     types.StringType,
	"type":     types.StringType,
	"encoding": types.StringType,
	"added_at": types.StringType,
}

func resolvedColumnList(columns []task.Column) (types.List, diag.Diagnostics) {
	var diags diag.Diagnostics
	elems := make([]attr.Value, 0, len(columns))
	for _, c := range columns {
		added := types.StringNull()
		if c.AddedAt != nil {
			added = types.StringValue(c.AddedAt.UTC().Format(time.RFC3339Nano))
		}
		v, d := types.ObjectValue(resolvedColumnAttrTypes, map[string]attr.Value{
			"source":   types.StringValue(c.Source),
			"name":     types.StringValue(c.Name),
			"type":     types.StringValue(string(c.Type)),
			"encoding": types.StringValue(string(c.Encoding)),
			"added_at": added,
		})
		diags.Append(d...)
		elems = append(elems, v)
	}
	l, d := types.ListValue(types.ObjectType{AttrTypes: resolvedColumnAttrTypes}, elems)
	diags.Append(d...)
	return l, diags
}

func columnList(columns []task.Column) (types.List, diag.Diagnostics) {
	var diags diag.Diagnostics
	elems := make([]attr.Value, 0, len(columns))
	for _, c := range columns {
		v, d := types.ObjectValue(columnAttrTypes, map[string]attr.Value{
			"source":   types.StringValue(c.Source),
			"name":     types.StringValue(c.Name),
			"type":     types.StringValue(string(c.Type)),
			"encoding": types.StringValue(string(c.Encoding)),
		})
		diags.Append(d...)
		elems = append(elems, v)
	}
	l, d := types.ListValue(types.ObjectType{AttrTypes: columnAttrTypes}, elems)
	diags.Append(d...)
	return l, diags
}
